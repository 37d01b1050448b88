/*
 * rtws C++20 projection: Windows.Foundation (async operations, Uri, TimeSpan, DateTime,
 * Deferral, delegates) and Windows.Foundation.Collections (the vectors of the sockets'
 * Control and Information), plus co_await support (operations, durations, resume_background).
 *
 * Async operations: IAsyncAction and IAsyncOperation<T> (T = uint32_t, bool, IBuffer) are
 * one template over the four C families IAsyncAction_*, IAsyncOperationUInt32_*, ...
 * - co_await op: resumes the coroutine in the operation's Completed callback, that is on an
 *   rtws thread (or the socket's DispatcherQueue thread), or goes straight on without
 *   suspending if it had already finished; a failure is rethrown as hresult_error
 *   (hresult_canceled after Cancel) with the library's message. The awaiting coroutine
 *   holds a reference on the operation, and rtws one until the callback ran: a socket
 *   released meanwhile ends the operation (RTWS_E_OPERATION_ABORTED), which resumes it.
 * - op.get() blocks (the C Wait): refused inside an rtws handler (hresult_illegal_method_call),
 *   as is wait_for with a non-zero timeout there.
 * - A coroutine returning IAsyncAction / IAsyncOperation<T> starts at once (eagerly), and
 *   returns a real rtws operation (a completion source: IAsyncAction_Create + _Complete)
 *   that co_await, get() and C code (IAsyncAction_Wait) consume alike. Its exception ends
 *   it with Error (or Canceled for hresult_canceled), that HRESULT and its message. A Cancel
 *   by the consumer ends the operation at once; the coroutine stops at its next co_await
 *   (which throws hresult_canceled into it).
 */
#ifndef RTWS_CPP_WINDOWS_FOUNDATION_H
#define RTWS_CPP_WINDOWS_FOUNDATION_H

#include <rtws/base.h>

namespace rtws::impl
{
    RTWS_IMPL_REF_COUNT(IAsyncAction)
    RTWS_IMPL_REF_COUNT(IAsyncOperationUInt32)
    RTWS_IMPL_REF_COUNT(IAsyncOperationBoolean)
    RTWS_IMPL_REF_COUNT(IAsyncOperationIBuffer)
    RTWS_IMPL_REF_COUNT(Deferral)
    RTWS_IMPL_REF_COUNT(IVectorString)

    // The C functions of one async family (they differ only by prefix), and its result's
    // conversions; specialized for each result type.
    template <typename T>
    struct async_abi;

#define RTWS_IMPL_ASYNC_ABI(Prefix)                                          \
    using abi_type = abi::Prefix;                                               \
    static constexpr auto put_completed = &abi::Prefix##_put_CompletedEx;       \
    static constexpr auto get_status = &abi::Prefix##_get_Status;               \
    static constexpr auto get_error_code = &abi::Prefix##_get_ErrorCode;       \
    static constexpr auto get_id = &abi::Prefix##_get_Id;                       \
    static constexpr auto cancel = &abi::Prefix##_Cancel;                       \
    static constexpr auto close = &abi::Prefix##_Close;                         \
    static constexpr auto get_results = &abi::Prefix##_GetResults;              \
    static constexpr auto wait = &abi::Prefix##_Wait;                           \
    static constexpr auto create = &abi::Prefix##_Create;                       \
    static constexpr auto complete = &abi::Prefix##_Complete;

    template <>
    struct async_abi<void>
    {
        RTWS_IMPL_ASYNC_ABI(IAsyncAction)
    };

    template <>
    struct async_abi<uint32_t>
    {
        RTWS_IMPL_ASYNC_ABI(IAsyncOperationUInt32)
        using abi_result = uint32_t;
        static uint32_t from_abi(uint32_t value) noexcept { return value; }
        static uint32_t to_abi(uint32_t value) noexcept { return value; }
    };

    template <>
    struct async_abi<bool>
    {
        RTWS_IMPL_ASYNC_ABI(IAsyncOperationBoolean)
        using abi_result = bool;
        static bool from_abi(bool value) noexcept { return value; }
        static bool to_abi(bool value) noexcept { return value; }
    };
    // async_abi<IBuffer>: in Windows.Storage.Streams.h, beside IBuffer.
}

namespace rtws::Windows::Foundation
{
    enum class AsyncStatus : int32_t
    {
        Started = abi::AsyncStatus_Started,
        Completed = abi::AsyncStatus_Completed,
        Canceled = abi::AsyncStatus_Canceled,
        Error = abi::AsyncStatus_Error,
    };

    // Windows.Foundation.TimeSpan: 100-nanosecond ticks, as a std::chrono duration.
    using TimeSpan = std::chrono::duration<int64_t, std::ratio<1, 10'000'000>>;

    template <typename Sender, typename Args>
    using TypedEventHandler = delegate<Sender const&, Args const&>;

    struct IAsyncAction;
    template <typename T>
    struct IAsyncOperation;

    using AsyncActionCompletedHandler = delegate<IAsyncAction const&, AsyncStatus>;
    template <typename T>
    using AsyncOperationCompletedHandler = delegate<IAsyncOperation<T> const&, AsyncStatus>;
}

namespace rtws
{
    // Windows.Foundation.DateTime's clock: 100-ns ticks since 1601-01-01 UTC.
    struct clock
    {
        using rep = int64_t;
        using period = std::ratio<1, 10'000'000>;
        using duration = Windows::Foundation::TimeSpan;
        using time_point = std::chrono::time_point<clock>;
        static constexpr bool is_steady = false;
        // Seconds from 1601-01-01 to 1970-01-01.
        static constexpr std::chrono::seconds unix_epoch{ 11'644'473'600 };

        static time_point now() noexcept { return from_sys(std::chrono::system_clock::now()); }
        static time_point from_sys(std::chrono::system_clock::time_point t) noexcept
        {
            return time_point{ std::chrono::duration_cast<duration>(t.time_since_epoch()) + unix_epoch };
        }
        static std::chrono::system_clock::time_point to_sys(time_point t) noexcept
        {
            return std::chrono::system_clock::time_point{
                std::chrono::duration_cast<std::chrono::system_clock::duration>(t.time_since_epoch() - unix_epoch) };
        }
    };
}

namespace rtws::Windows::Foundation
{
    using DateTime = clock::time_point;
}

namespace rtws::impl
{
    using Windows::Foundation::AsyncStatus;

    // What a co_await of an unfinished operation shares with its Completed callback. Both
    // sides arrive once: the callback (or, if it was dropped unrun, the release), and
    // await_suspend once its registration returned. Whoever arrives second resumes the
    // coroutine: the callback by resume(), await_suspend by returning false. Freed by the
    // last of the two (refs), since the coroutine may end before the library's release.
    struct resume_state
    {
        std::coroutine_handle<> coroutine;
        std::atomic<bool> one_arrived{ false };
        std::atomic<bool> completed{ false };
        std::atomic<int> refs{ 2 };

        // The callback's arrival (or the release's): resumes the coroutine if await_suspend has
        // already returned (true).
        void complete() noexcept
        {
            completed.store(true);
            if (one_arrived.exchange(true))
            {
                coroutine.resume();
            }
        }
        void unref() noexcept
        {
            if (refs.fetch_sub(1) == 1)
            {
                delete this;
            }
        }

        template <typename AbiOp>
        static void on_completed(void* context, AbiOp*, abi::AsyncStatus) noexcept
        {
            static_cast<resume_state*>(context)->complete();
        }
        static void on_release(void* context) noexcept
        {
            auto* state = static_cast<resume_state*>(context);
            // Dropped unrun (the socket's queue stopped): resume anyway, the coroutine must
            // not wait forever; await_resume then reports the operation as it is.
            if (!state->completed.load())
            {
                state->complete();
            }
            state->unref();
        }
    };

    // await_suspend of an unfinished operation: true to suspend.
    template <typename Abi>
    bool suspend_until_completed(typename Abi::abi_type* op, std::coroutine_handle<> coroutine)
    {
        auto* state = new resume_state{ coroutine };
        hresult const code = Abi::put_completed(op, &resume_state::on_completed<typename Abi::abi_type>, state,
                                                &resume_state::on_release);
        if (code < 0)
        {
            delete state;  // a failed ...Ex registration does not call release
            check(code);
        }
        bool const suspend = !state->one_arrived.exchange(true);
        state->unref();
        return suspend;
    }

    template <typename Self, typename T>
    struct promise;

    // The four async classes: Self is the projected class (CRTP), T its result (void for
    // IAsyncAction).
    template <typename Self, typename T>
    class async_base : public object<typename async_abi<T>::abi_type>
    {
        using fn = async_abi<T>;
        using base = object<typename fn::abi_type>;

    public:
        using promise_type = promise<Self, T>;
        using completed_handler = delegate<Self const&, AsyncStatus>;
        using base::base;

        AsyncStatus Status() const { return get_value<AsyncStatus, abi::AsyncStatus>(fn::get_status, this->abi()); }
        hresult ErrorCode() const { return get_value<hresult>(fn::get_error_code, this->abi()); }
        uint32_t Id() const { return get_value<uint32_t>(fn::get_id, this->abi()); }
        void Cancel() const { check(fn::cancel(this->abi())); }
        void Close() const { check(fn::close(this->abi())); }

        // The result once Completed; throws the failure (hresult_canceled after a Cancel),
        // hresult_illegal_method_call while Started.
        T GetResults() const
        {
            if constexpr (std::is_void_v<T>)
            {
                check(fn::get_results(this->abi()));
            }
            else
            {
                return fn::from_abi(get_value<typename fn::abi_result>(fn::get_results, this->abi()));
            }
        }

        // Blocks until the operation finished, then as GetResults.
        T get() const
        {
            if constexpr (std::is_void_v<T>)
            {
                check(fn::wait(this->abi(), RTWS_INFINITE));
            }
            else
            {
                typename fn::abi_result result{};
                check(fn::wait(this->abi(), RTWS_INFINITE, &result));
                return fn::from_abi(result);
            }
        }

        // Blocks until the operation finished or `timeout` passed; the status then (Started
        // if the time ran out). A Wait the library refuses (inside a handler) throws.
        template <typename Rep, typename Period>
        AsyncStatus wait_for(std::chrono::duration<Rep, Period> timeout) const
        {
            hresult code;
            if constexpr (std::is_void_v<T>)
            {
                code = fn::wait(this->abi(), wait_ms(timeout));
            }
            else
            {
                code = fn::wait(this->abi(), wait_ms(timeout), nullptr);  // NULL: no result wanted
            }
            AsyncStatus const status = Status();
            if (status == AsyncStatus::Started && code != RTWS_E_TIMEOUT)
            {
                check(code);
            }
            return status;
        }

        // Sets the Completed handler (once per operation). It runs once: at once on this
        // thread if the operation already finished, else on the thread that finishes it.
        void Completed(completed_handler const& handler) const
        {
            using box = handler_box<completed_handler>;
            auto* context = new box{ handler, "Completed", nullptr };
            hresult const code = fn::put_completed(this->abi(), &on_completed, context, &box::release);
            if (code < 0)
            {
                delete context;
                check(code);
            }
        }

        struct awaiter
        {
            Self operation;

            bool await_ready() const { return operation.Status() != AsyncStatus::Started; }
            bool await_suspend(std::coroutine_handle<> coroutine) const
            {
                return suspend_until_completed<fn>(operation.abi(), coroutine);
            }
            T await_resume() const { return operation.GetResults(); }
        };
        awaiter operator co_await() const { return awaiter{ static_cast<Self const&>(*this) }; }

    private:
        static void on_completed(void* context, typename fn::abi_type* op, abi::AsyncStatus status) noexcept
        {
            try
            {
                static_cast<handler_box<completed_handler>*>(context)->handler(borrowed<Self>(op).get(), static_cast<AsyncStatus>(status));
            }
            catch (...)
            {
                report_handler_exception("Completed");
            }
        }
    };

    // The promise of a coroutine returning Self: its operation is a completion source,
    // made before the body runs and completed by co_return or an exception.
    template <typename Self, typename T>
    struct promise_base
    {
        using fn = async_abi<T>;
        Self operation{ nullptr };

        Self get_return_object()
        {
            typename fn::abi_type* op = nullptr;
            check(fn::create(&op));
            operation = Self{ op, take_ownership_from_abi };
            return operation;
        }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        // Each co_await first checks that the consumer has not canceled the operation: if it
        // has, the coroutine stops there with hresult_canceled (as in C++/WinRT).
        template <typename Awaitable>
        Awaitable&& await_transform(Awaitable&& awaitable) const
        {
            if (operation.Status() == AsyncStatus::Canceled)
            {
                throw hresult_canceled(hstring(L"the operation was canceled"));
            }
            return std::forward<Awaitable>(awaitable);
        }
        void unhandled_exception() noexcept
        {
            hresult const code = to_hresult();
            std::string const message = exception_message();
            // Complete fails only if the operation was already completed, which cannot be
            // (this is its one producer); after a consumer's Cancel it returns S_FALSE.
            if constexpr (std::is_void_v<T>)
            {
                fn::complete(operation.abi(), code, message.c_str());
            }
            else
            {
                fn::complete(operation.abi(), code, message.c_str(), typename fn::abi_result{});
            }
        }
    };

    template <typename Self, typename T>
    struct promise : promise_base<Self, T>
    {
        void return_value(T const& value)
        {
            using fn = async_abi<T>;
            check(fn::complete(this->operation.abi(), S_OK, nullptr, fn::to_abi(value)));
        }
    };

    template <typename Self>
    struct promise<Self, void> : promise_base<Self, void>
    {
        void return_void() { check(abi::IAsyncAction_Complete(this->operation.abi(), S_OK, nullptr)); }
    };
}

namespace rtws::Windows::Foundation
{
    struct IAsyncAction : impl::async_base<IAsyncAction, void>
    {
        using async_base::async_base;
    };

    template <typename T>
    struct IAsyncOperation : impl::async_base<IAsyncOperation<T>, T>
    {
        using impl::async_base<IAsyncOperation<T>, T>::async_base;
    };

    // Windows.Foundation.Uri: the absolute ws:// or wss:// URI as given; ConnectAsync checks
    // it (hresult_invalid_argument when malformed).
    class Uri
    {
    public:
        Uri(hstring uri) : m_uri(std::move(uri)) {}
        hstring AbsoluteUri() const { return m_uri; }
        hstring RawUri() const { return m_uri; }
        hstring ToString() const { return m_uri; }

    private:
        hstring m_uri;
    };

    // Lets a handler decide later (ServerCustomValidationRequested): Complete when done.
    struct Deferral : impl::object<abi::Deferral>
    {
        using object::object;
        void Complete() const { impl::check(abi::Deferral_Complete(abi())); }
    };
}

namespace rtws::Windows::Foundation::Collections
{
    template <typename T>
    struct IVector;
    template <typename T>
    struct IVectorView;

    // IVector<hstring> (SupportedProtocols): edits fail once the socket's ConnectAsync was called.
    template <>
    struct IVector<hstring> : impl::object<abi::IVectorString>
    {
        using object::object;
        uint32_t Size() const { return impl::get_value<uint32_t>(abi::IVectorString_get_Size, abi()); }
        hstring GetAt(uint32_t index) const
        {
            uint32_t needed = 0;
            hresult const code = abi::IVectorString_GetAt(abi(), index, nullptr, 0, &needed);
            if (code != E_NOT_SUFFICIENT_BUFFER)
            {
                impl::check(code);
            }
            std::string text(needed, '\0');
            impl::check(abi::IVectorString_GetAt(abi(), index, text.data(), needed, &needed));
            text.resize(needed - 1);  // the NUL
            return hstring(std::string_view(text));
        }
        void Append(hstring const& value) const { impl::check(abi::IVectorString_Append(abi(), impl::c_str(value))); }
        void RemoveAt(uint32_t index) const { impl::check(abi::IVectorString_RemoveAt(abi(), index)); }
        void Clear() const { impl::check(abi::IVectorString_Clear(abi())); }
    };
}

namespace rtws
{
    // co_await a duration: resumes on an rtws thread once it passed (ThreadPool_DelayAsync).
    template <typename Rep, typename Period>
    auto operator co_await(std::chrono::duration<Rep, Period> delay)
    {
        abi::IAsyncAction* op = nullptr;
        impl::check(abi::ThreadPool_DelayAsync(abi::TimeSpan{ std::chrono::ceil<Windows::Foundation::TimeSpan>(delay).count() }, &op));
        return Windows::Foundation::IAsyncAction{ op, take_ownership_from_abi }.operator co_await();
    }

    // co_await resume_background(): goes on on an rtws pool thread, where blocking (get())
    // is allowed (ThreadPool_RunAsync).
    struct resume_background
    {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> coroutine) const
        {
            abi::IAsyncAction* op = nullptr;
            impl::check(abi::ThreadPool_RunAsync(&run, coroutine.address(), &op));
            abi::IAsyncAction_Release(op);  // completes when run returns; nobody waits for it
        }
        void await_resume() const noexcept {}

    private:
        // Called exactly once; the coroutine's own promise keeps its exceptions.
        static void run(void* context, abi::IAsyncAction*) noexcept { std::coroutine_handle<>::from_address(context).resume(); }
    };
}

#endif
