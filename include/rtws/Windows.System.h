/*
 * rtws C++20 projection: Windows.System.DispatcherQueue, and co_await
 * resume_foreground(queue).
 *
 * A DispatcherQueue runs work on the host's thread: handlers and Completed callbacks of
 * the sockets bound to it (socket.DispatcherQueue(queue), before ConnectAsync), items
 * posted with TryEnqueue, and coroutines resumed by resume_foreground, all inside
 * RunPending on the thread that calls it (rtws extension; WinRT's queues run themselves).
 * The last copy of the host's queue object stops it: work still pending is dropped unrun,
 * and a coroutine waiting in resume_foreground then resumes there with hresult_error(RO_E_CLOSED).
 */
#ifndef RTWS_CPP_WINDOWS_SYSTEM_H
#define RTWS_CPP_WINDOWS_SYSTEM_H

#include <rtws/Windows.Foundation.h>

namespace rtws::impl
{
    RTWS_IMPL_REF_COUNT(DispatcherQueue)
}

namespace rtws::Windows::System
{
    using DispatcherQueueHandler = delegate<>;

    struct DispatcherQueue : impl::object<abi::DispatcherQueue>
    {
        using object::object;
        // rtws extension: a new queue (WinRT takes it from a DispatcherQueueController).
        DispatcherQueue() : object(nullptr) { *this = impl::get_object<DispatcherQueue>(abi::DispatcherQueue_Create); }

        // Posts `handler` to run on the queue's thread; false when the queue was stopped.
        bool TryEnqueue(DispatcherQueueHandler const& handler) const
        {
            using box = impl::handler_box<DispatcherQueueHandler>;
            auto* context = new box{ handler, "DispatcherQueue", nullptr };
            bool queued = false;
            hresult const code = abi::DispatcherQueue_TryEnqueueEx(abi(), &run, context, &box::release, &queued);
            if (code < 0)
            {
                delete context;
                impl::check(code);
            }
            return queued;
        }
        bool HasThreadAccess() const { return impl::get_value<bool>(abi::DispatcherQueue_get_HasThreadAccess, abi()); }
        // rtws extensions: the host's loop runs the queue.
        uint32_t RunPending(uint32_t maxCount = UINT32_MAX, uint32_t maxMilliseconds = RTWS_INFINITE) const
        {
            return impl::get_value<uint32_t>(abi::DispatcherQueue_RunPending, abi(), maxCount, maxMilliseconds);
        }
        template <typename Rep, typename Period>
        bool Wait(std::chrono::duration<Rep, Period> timeout) const
        {
            return impl::get_value<bool>(abi::DispatcherQueue_Wait, abi(), impl::wait_ms(timeout));
        }
        int32_t FileDescriptor() const { return impl::get_value<int32_t>(abi::DispatcherQueue_get_FileDescriptor, abi()); }

    private:
        static void run(void* context) noexcept
        {
            try
            {
                static_cast<impl::handler_box<DispatcherQueueHandler>*>(context)->handler();
            }
            catch (...)
            {
                impl::report_handler_exception("DispatcherQueue");
            }
        }
    };
}

namespace rtws
{
    // co_await resume_foreground(queue): goes on on the queue's thread, inside its RunPending.
    // The awaiter refers to `queue` (it lives as long as the co_await expression) without a
    // handle of its own: a handle would keep the queue running after the host let it go.
    struct resume_foreground
    {
        explicit resume_foreground(Windows::System::DispatcherQueue const& queue) noexcept : m_queue(queue) {}

        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> coroutine)
        {
            auto* state = new item{ coroutine, this };
            bool queued = false;
            hresult const code = abi::DispatcherQueue_TryEnqueueEx(m_queue.abi(), &item::run, state, &item::release, &queued);
            if (code < 0)
            {
                delete state;  // a failed ...Ex call does not call release
                impl::check(code);
            }
            // Once queued, the coroutine may already run on the queue's thread: `this` is not
            // touched here. A drop (the queue stopped; already, when not queued) went
            // through item::release, which resumes it here (false) if this comes second.
            bool const suspend = !state->one_arrived.exchange(true);
            state->unref();
            return suspend;
        }
        void await_resume() const
        {
            if (m_stopped)
            {
                throw hresult_error(RO_E_CLOSED, hstring(L"the DispatcherQueue was stopped"));
            }
        }

    private:
        // The posted item. `run` resumes the coroutine on the queue's thread. The release
        // comes after `run` (when the coroutine may be gone: it then only frees the item),
        // or instead of it when the item is dropped unrun: then it marks the awaiter stopped
        // and, of it and await_suspend's end, the second to arrive resumes the coroutine.
        struct item
        {
            std::coroutine_handle<> coroutine;
            resume_foreground* awaiter;
            bool ran = false;
            std::atomic<bool> one_arrived{ false };
            std::atomic<int> refs{ 2 };

            void unref() noexcept
            {
                if (refs.fetch_sub(1) == 1)
                {
                    delete this;
                }
            }
            static void run(void* context) noexcept
            {
                auto* self = static_cast<item*>(context);
                self->ran = true;
                self->coroutine.resume();
            }
            static void release(void* context) noexcept
            {
                auto* self = static_cast<item*>(context);
                if (!self->ran)
                {
                    self->awaiter->m_stopped = true;
                    if (self->one_arrived.exchange(true))
                    {
                        self->coroutine.resume();
                    }
                }
                self->unref();
            }
        };

        Windows::System::DispatcherQueue const& m_queue;
        bool m_stopped = false;
    };
}

#endif
