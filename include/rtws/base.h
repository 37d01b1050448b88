/*
 * rtws C++20 projection: the common part (strings, errors, handles, delegates, events,
 * coroutine support). A header-only, thin layer over the C ABI in <rtws.h>: every member
 * checks its object, converts its arguments, calls one C function and throws the HRESULT
 * of a failure as an hresult_error carrying rtws_GetLastErrorMessage().
 *
 * Mirrors C++/WinRT with the namespace `winrt` renamed `rtws`: a program written for
 * <winrt/X.h> compiles against <rtws/X.h> after that rename.
 *
 * Lifetimes: a projected object holds one reference on its C handle (copies AddRef, the
 * destructor Releases, a moved-from object is empty). An empty object (nullptr-constructed
 * or moved-from) throws hresult_error(E_POINTER) when used; it never crashes.
 *
 * Threads: handlers (events, Completed) and coroutine continuations run where the C
 * callbacks run: on an rtws I/O thread, or, for a socket bound to a DispatcherQueue, on the
 * thread that runs the queue; at once on the calling thread when an operation had already
 * finished. A handler must return quickly (it holds its socket's I/O); its exceptions never
 * reach the library: they are written to rtws's log (Error, target "rtws::cpp": the host's
 * rtws_SetLogHandler, or stderr with RTWS_LOG=error) with the event's name, and the event
 * goes on.
 */
#ifndef RTWS_CPP_BASE_H
#define RTWS_CPP_BASE_H

#if __cplusplus < 202002L
#error "the rtws C++ projection needs C++20 (-std=c++20)"
#endif

#ifdef RTWS_H
#error "include the rtws C++ headers before <rtws.h> (they declare the C API in namespace rtws::abi)"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// The C API, in namespace rtws::abi: its type names (IAsyncAction, MessageWebSocket, ...)
// are the projected classes' names, and a program's `using namespace` directives (as in
// the C++/WinRT samples) must find the classes alone. <rtws.h> may be included after this
// (its include guard then skips it): the C functions are rtws::abi::X. Only HRESULT stays
// global, as on Windows, for the E_ macros.
#include <stdbool.h>
#include <stdint.h>
typedef int32_t HRESULT;
namespace rtws::abi
{
#include <rtws.h>
}

static_assert(sizeof(wchar_t) == 4, "the rtws projection converts UTF-32 wchar_t strings");

namespace rtws
{
    using byte = uint8_t;
    using hresult = HRESULT;
}

namespace rtws::impl
{
    // Throws hresult_invalid_argument for a string that is not Unicode text (defined below,
    // once the exception classes are).
    [[noreturn]] void throw_invalid_text(char const* why);

    // UTF-32 -> UTF-8. A high surrogate followed by a low one is taken as the pair it is
    // (text built as UTF-16 units); an unpaired surrogate or a value over U+10FFFF is refused.
    inline std::string to_utf8(std::wstring_view text)
    {
        std::string out;
        out.reserve(text.size());
        for (size_t i = 0; i < text.size(); ++i)
        {
            uint32_t c = static_cast<uint32_t>(text[i]);
            if (c >= 0xD800 && c <= 0xDBFF && i + 1 < text.size()
                && static_cast<uint32_t>(text[i + 1]) >= 0xDC00 && static_cast<uint32_t>(text[i + 1]) <= 0xDFFF)
            {
                c = 0x10000 + ((c - 0xD800) << 10) + (static_cast<uint32_t>(text[++i]) - 0xDC00);
            }
            else if (c >= 0xD800 && c <= 0xDFFF)
            {
                throw_invalid_text("an unpaired UTF-16 surrogate in a wide string");
            }
            else if (c > 0x10FFFF)
            {
                throw_invalid_text("a wide character over U+10FFFF");
            }
            if (c < 0x80)
            {
                out += static_cast<char>(c);
            }
            else if (c < 0x800)
            {
                out += static_cast<char>(0xC0 | (c >> 6));
                out += static_cast<char>(0x80 | (c & 0x3F));
            }
            else if (c < 0x10000)
            {
                out += static_cast<char>(0xE0 | (c >> 12));
                out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (c & 0x3F));
            }
            else
            {
                out += static_cast<char>(0xF0 | (c >> 18));
                out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
                out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (c & 0x3F));
            }
        }
        return out;
    }

    // UTF-8 -> UTF-32, strictly (no overlong forms, surrogates or values over U+10FFFF).
    inline std::wstring from_utf8(std::string_view text)
    {
        std::wstring out;
        out.reserve(text.size());
        for (size_t i = 0; i < text.size();)
        {
            auto const b0 = static_cast<unsigned char>(text[i]);
            size_t const n = b0 < 0x80 ? 1 : (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
            if (n == 0 || i + n > text.size())
            {
                throw_invalid_text("a string that is not UTF-8");
            }
            uint32_t c = n == 1 ? b0 : b0 & (0x7F >> n);
            for (size_t k = 1; k < n; ++k)
            {
                auto const b = static_cast<unsigned char>(text[i + k]);
                if ((b & 0xC0) != 0x80)
                {
                    throw_invalid_text("a string that is not UTF-8");
                }
                c = (c << 6) | (b & 0x3F);
            }
            static constexpr uint32_t smallest[] = { 0, 0, 0x80, 0x800, 0x10000 };
            if (c < smallest[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            {
                throw_invalid_text("a string that is not UTF-8");
            }
            out += static_cast<wchar_t>(c);
            i += n;
        }
        return out;
    }
}

namespace rtws
{
    // A string. Its text is kept twice: as wchar_t (UTF-32 on Linux, for c_str()) and as the
    // UTF-8 the C functions take, both made once at construction, where a text that is not
    // Unicode (an unpaired surrogate, a value over U+10FFFF, bad UTF-8) is refused with
    // hresult_invalid_argument.
    class hstring
    {
    public:
        using value_type = wchar_t;
        using const_iterator = std::wstring::const_iterator;

        hstring() = default;
        hstring(wchar_t const* text) : hstring(std::wstring_view(text ? text : L"")) {}
        hstring(wchar_t const* text, size_t size) : hstring(std::wstring_view(text, size)) {}
        hstring(std::wstring_view text) : m_utf8(impl::to_utf8(text)), m_wide(text) {}
        hstring(std::wstring const& text) : hstring(std::wstring_view(text)) {}
        explicit hstring(std::string_view utf8) : m_utf8(utf8), m_wide(impl::from_utf8(utf8)) {}

        wchar_t const* c_str() const noexcept { return m_wide.c_str(); }
        wchar_t const* data() const noexcept { return m_wide.data(); }
        size_t size() const noexcept { return m_wide.size(); }
        bool empty() const noexcept { return m_wide.empty(); }
        const_iterator begin() const noexcept { return m_wide.begin(); }
        const_iterator end() const noexcept { return m_wide.end(); }
        operator std::wstring_view() const noexcept { return m_wide; }
        // The UTF-8 text (what to_string returns), as the C functions take it.
        std::string const& utf8() const noexcept { return m_utf8; }

        // Compared by their UTF-8, whose byte order is the code points' order (and which
        // memcmp compares: valgrind 3.19 misreads glibc's AVX2 wmemcmp).
        friend bool operator==(hstring const& a, hstring const& b) noexcept { return a.m_utf8 == b.m_utf8; }
        friend auto operator<=>(hstring const& a, hstring const& b) noexcept { return a.m_utf8 <=> b.m_utf8; }
        friend bool operator==(hstring const& a, wchar_t const* b) noexcept
        {
            std::wstring_view const other(b ? b : L"");
            return std::equal(a.m_wide.begin(), a.m_wide.end(), other.begin(), other.end());
        }

    private:
        std::string m_utf8;
        std::wstring m_wide;
    };

    inline std::string to_string(std::wstring_view text) { return impl::to_utf8(text); }
    inline std::string to_string(hstring const& text) { return text.utf8(); }
    inline hstring to_hstring(std::string_view utf8) { return hstring(utf8); }

    // An HRESULT failure. message() is rtws's own explanation, taken (by the projection)
    // from rtws_GetLastErrorMessage() on the thread and at the moment the C call failed.
    class hresult_error
    {
    public:
        hresult_error() noexcept = default;
        explicit hresult_error(hresult code) : m_code(code) {}
        hresult_error(hresult code, hstring message) : m_code(code), m_message(std::move(message)) {}

        hresult code() const noexcept { return m_code; }
        hresult to_abi() const noexcept { return m_code; }
        hstring message() const
        {
            if (!m_message.empty())
            {
                return m_message;
            }
            char text[32];
            std::snprintf(text, sizeof text, "HRESULT 0x%08X", static_cast<unsigned>(m_code));
            return hstring(std::string_view(text));
        }

    private:
        hresult m_code = E_FAIL;
        hstring m_message;
    };

#define RTWS_IMPL_HRESULT_CLASS(name, value)                                                    \
    struct name : hresult_error                                                                 \
    {                                                                                           \
        name() : hresult_error(value) {}                                                        \
        explicit name(hstring message) : hresult_error(value, std::move(message)) {}            \
    };
    RTWS_IMPL_HRESULT_CLASS(hresult_canceled, RTWS_E_CANCELLED)
    RTWS_IMPL_HRESULT_CLASS(hresult_invalid_argument, E_INVALIDARG)
    RTWS_IMPL_HRESULT_CLASS(hresult_illegal_method_call, E_ILLEGAL_METHOD_CALL)
    RTWS_IMPL_HRESULT_CLASS(hresult_illegal_state_change, E_ILLEGAL_STATE_CHANGE)
    RTWS_IMPL_HRESULT_CLASS(hresult_illegal_delegate_assignment, E_ILLEGAL_DELEGATE_ASSIGNMENT)
    RTWS_IMPL_HRESULT_CLASS(hresult_changed_state, E_CHANGED_STATE)
    RTWS_IMPL_HRESULT_CLASS(hresult_out_of_bounds, E_BOUNDS)
    RTWS_IMPL_HRESULT_CLASS(hresult_not_implemented, E_NOTIMPL)
    RTWS_IMPL_HRESULT_CLASS(hresult_no_interface, static_cast<hresult>(0x80004002u))
#undef RTWS_IMPL_HRESULT_CLASS

    // Throws the hresult_error subclass that names `code` (hresult_canceled for a canceled
    // operation, ...), or hresult_error itself.
    [[noreturn]] inline void throw_hresult(hresult code, hstring const& message)
    {
        switch (code)
        {
        case RTWS_E_CANCELLED: throw hresult_canceled(message);
        case E_INVALIDARG: throw hresult_invalid_argument(message);
        case E_ILLEGAL_METHOD_CALL: throw hresult_illegal_method_call(message);
        case E_ILLEGAL_STATE_CHANGE: throw hresult_illegal_state_change(message);
        case E_ILLEGAL_DELEGATE_ASSIGNMENT: throw hresult_illegal_delegate_assignment(message);
        case E_CHANGED_STATE: throw hresult_changed_state(message);
        case E_BOUNDS: throw hresult_out_of_bounds(message);
        case E_NOTIMPL: throw hresult_not_implemented(message);
        default: throw hresult_error(code, message);
        }
    }

    // The HRESULT of the exception being handled (inside a catch), as C++/WinRT maps them.
    inline hresult to_hresult() noexcept
    {
        try
        {
            throw;
        }
        catch (hresult_error const& e)
        {
            return e.code();
        }
        catch (std::bad_alloc const&)
        {
            return E_OUTOFMEMORY;
        }
        catch (std::out_of_range const&)
        {
            return E_BOUNDS;
        }
        catch (std::invalid_argument const&)
        {
            return E_INVALIDARG;
        }
        catch (...)
        {
            return E_FAIL;
        }
    }

    // An event registration (EventRegistrationToken).
    struct event_token
    {
        int64_t value{};
        explicit operator bool() const noexcept { return value != 0; }
        friend bool operator==(event_token, event_token) noexcept = default;
    };

    // Tag of the event overloads that return a revoker.
    struct auto_revoke_t
    {
        explicit auto_revoke_t() = default;
    };
    inline constexpr auto_revoke_t auto_revoke{};

    // Tag of the constructors that adopt a C handle's reference: T{ handle, take_ownership_from_abi }.
    struct take_ownership_from_abi_t
    {
        explicit take_ownership_from_abi_t() = default;
    };
    inline constexpr take_ownership_from_abi_t take_ownership_from_abi{};

    // A view of contiguous elements (a std::vector, std::array, C array or pointer + size),
    // for WriteBytes / ReadBytes.
    template <typename T>
    class array_view
    {
    public:
        using value_type = std::remove_const_t<T>;
        using size_type = uint32_t;

        array_view() noexcept = default;
        array_view(T* data, size_type size) noexcept : m_data(data), m_size(size) {}
        template <typename C>
            requires(std::is_convertible_v<decltype(std::data(std::declval<C&>())), T*>
                     && !std::is_same_v<std::remove_cvref_t<C>, array_view>)
        array_view(C&& container) : m_data(std::data(container)), m_size(checked_size(std::size(container))) {}
        array_view(std::initializer_list<value_type> values) requires std::is_const_v<T>
            : m_data(values.begin()), m_size(checked_size(values.size())) {}

        T* data() const noexcept { return m_data; }
        size_type size() const noexcept { return m_size; }
        bool empty() const noexcept { return m_size == 0; }
        T* begin() const noexcept { return m_data; }
        T* end() const noexcept { return m_data + m_size; }
        T& operator[](size_type i) const noexcept { return m_data[i]; }

    private:
        // The C functions count in uint32_t.
        static size_type checked_size(size_t size)
        {
            if (size > UINT32_MAX)
            {
                throw hresult_invalid_argument(hstring(L"an array over 4 GiB"));
            }
            return static_cast<size_type>(size);
        }

        T* m_data = nullptr;
        size_type m_size = 0;
    };

    // A delegate: a handler made from a lambda or other callable, a free function, or an
    // object and one of its member functions ({ this, &Page::OnMessageReceived }).
    template <typename... Args>
    class delegate
    {
    public:
        delegate() noexcept = default;
        delegate(std::nullptr_t) noexcept {}
        template <typename F>
            requires(std::is_invocable_v<F&, Args...> && !std::is_same_v<std::remove_cvref_t<F>, delegate>)
        delegate(F&& handler) : m_handler(std::forward<F>(handler)) {}
        template <typename O, typename M>
        delegate(O* object, M method) : m_handler([object, method](Args... args) { (object->*method)(args...); }) {}

        explicit operator bool() const noexcept { return static_cast<bool>(m_handler); }
        void operator()(Args... args) const { m_handler(args...); }

    private:
        std::function<void(Args...)> m_handler;
    };
}

namespace rtws::impl
{
    inline void throw_invalid_text(char const* why)
    {
        // `why` is ASCII: converting it cannot fail in turn.
        throw hresult_invalid_argument(hstring(std::string_view(why)));
    }

    // Throws a failed C call's HRESULT with the library's message for it.
    inline void check(hresult code)
    {
        if (code < 0)
        {
            char const* message = abi::rtws_GetLastErrorMessage();
            throw_hresult(code, hstring(std::string_view(message ? message : "")));
        }
    }

    // A string for a C function: its UTF-8, which must not hold a NUL (C would cut it there).
    inline char const* c_str(hstring const& text)
    {
        if (text.utf8().find('\0') != std::string::npos)
        {
            throw hresult_invalid_argument(hstring(L"a string with an embedded NUL"));
        }
        return text.utf8().c_str();
    }

    // A borrowed C string (owned by the object that handed it out) as an hstring.
    inline hstring from_c(char const* text) { return hstring(std::string_view(text ? text : "")); }

    // The text of the exception being handled (inside a catch): an hresult_error's message,
    // a std::exception's what().
    inline std::string exception_message() noexcept
    {
        try
        {
            throw;
        }
        catch (hresult_error const& e)
        {
            try
            {
                return to_string(e.message());
            }
            catch (...)
            {
            }
        }
        catch (std::exception const& e)
        {
            return e.what();
        }
        catch (...)
        {
        }
        return {};
    }

    // Reports an exception that a handler let out (the library must not see it) through
    // rtws's log, at Error level (target "rtws::cpp"): to the host's log handler, or stderr
    // under RTWS_LOG. A text the log refuses (not UTF-8) goes to stderr instead.
    inline void report_handler_exception(char const* event) noexcept
    {
        std::string const what = exception_message();
        char text[512];
        std::snprintf(text, sizeof text, "a %s handler threw 0x%08X: %s (the event goes on)", event,
                      static_cast<unsigned>(to_hresult()), what.c_str());
        if (abi::rtws_WriteLog(abi::RtwsLogLevel_Error, "rtws::cpp", text) < 0)
        {
            std::fprintf(stderr, "rtws::cpp: %s\n", text);
        }
    }

    // AddRef/Release of each C handle type.
    template <typename Abi>
    struct ref_count;

#define RTWS_IMPL_REF_COUNT(T)                                                                       \
    template <>                                                                                      \
    struct ref_count<abi::T>                                                                            \
    {                                                                                                \
        static uint32_t add_ref(abi::T* p) noexcept { return abi::T##_AddRef(p); }                         \
        static uint32_t release(abi::T* p) noexcept { return abi::T##_Release(p); }                        \
    };

    // The base of every projected class: one reference on one C handle.
    template <typename Abi>
    class object
    {
    public:
        using abi_type = Abi;

        object(std::nullptr_t) noexcept {}
        object(Abi* handle, take_ownership_from_abi_t) noexcept : m_handle(handle) {}
        object(object const& other) noexcept : m_handle(other.m_handle)
        {
            if (m_handle)
            {
                ref_count<Abi>::add_ref(m_handle);
            }
        }
        object(object&& other) noexcept : m_handle(std::exchange(other.m_handle, nullptr)) {}
        object& operator=(object const& other) noexcept
        {
            object(other).swap(*this);
            return *this;
        }
        object& operator=(object&& other) noexcept
        {
            object(std::move(other)).swap(*this);
            return *this;
        }
        object& operator=(std::nullptr_t) noexcept
        {
            object(nullptr).swap(*this);
            return *this;
        }
        ~object()
        {
            if (m_handle)
            {
                ref_count<Abi>::release(m_handle);
            }
        }

        explicit operator bool() const noexcept { return m_handle != nullptr; }
        friend bool operator==(object const& a, object const& b) noexcept { return a.m_handle == b.m_handle; }
        friend bool operator==(object const& a, std::nullptr_t) noexcept { return a.m_handle == nullptr; }

        // The C handle, borrowed, for a call into <rtws.h>; hresult_error(E_POINTER) when empty.
        Abi* abi() const
        {
            if (!m_handle)
            {
                throw hresult_error(E_POINTER, hstring(L"the object is empty (nullptr or moved-from)"));
            }
            return m_handle;
        }
        // Gives up the reference: the caller owns the returned handle (may be NULL).
        Abi* detach_abi() noexcept { return std::exchange(m_handle, nullptr); }
        void swap(object& other) noexcept { std::swap(m_handle, other.m_handle); }

    protected:
        object() noexcept = default;

    private:
        Abi* m_handle = nullptr;
    };

    // A handler's argument: the projected object over a handle the library lends for the
    // call, without a reference of its own (no AddRef/Release per event: the handle stays
    // valid until the handler returns, and a copy the handler keeps takes its own reference).
    template <typename T>
    class borrowed
    {
    public:
        explicit borrowed(typename T::abi_type* handle) noexcept : m_value(handle, take_ownership_from_abi) {}
        borrowed(borrowed const&) = delete;
        borrowed& operator=(borrowed const&) = delete;
        ~borrowed() { m_value.detach_abi(); }
        T const& get() const noexcept { return m_value; }

    private:
        T m_value;
    };

    // Calls a C getter that hands out a new reference (or NULL: an empty object).
    template <typename T, typename F, typename... A>
    T get_object(F getter, A... args)
    {
        typename T::abi_type* handle = nullptr;
        check(getter(args..., &handle));
        return T{ handle, take_ownership_from_abi };
    }

    // Calls a C getter of a plain value (V may be a C++ enum over the C one).
    template <typename V, typename CV = V, typename F, typename... A>
    V get_value(F getter, A... args)
    {
        CV value{};
        check(getter(args..., &value));
        return static_cast<V>(value);
    }

    // Calls a C getter of a borrowed UTF-8 string.
    template <typename F, typename... A>
    hstring get_string(F getter, A... args)
    {
        char const* text = nullptr;
        check(getter(args..., &text));
        return from_c(text);
    }

    // A duration in milliseconds for a C Wait, capped below RTWS_INFINITE.
    template <typename Rep, typename Period>
    uint32_t wait_ms(std::chrono::duration<Rep, Period> timeout)
    {
        auto const ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
        return ms <= 0 ? 0u : ms >= static_cast<decltype(ms)>(RTWS_INFINITE) ? RTWS_INFINITE - 1 : static_cast<uint32_t>(ms);
    }

    // A heap-held handler given to an ...Ex registration: the library calls `release` once
    // the registration ends (removed, the object gone, a Completed run or dropped), and only
    // then is it freed. `alive` (when a revoker watches it) turns false at that moment.
    template <typename Handler>
    struct handler_box
    {
        Handler handler;
        char const* event;
        std::shared_ptr<std::atomic<bool>> alive;

        static void release(void* context) noexcept
        {
            auto* box = static_cast<handler_box*>(context);
            if (box->alive)
            {
                box->alive->store(false);
            }
            delete box;
        }
    };
}

namespace rtws
{
    // An event's revoker (X(auto_revoke, handler)): removes the handler when destroyed, unless
    // the registration already ended (removed, or its object is gone: then it does nothing).
    class event_revoker
    {
    public:
        event_revoker() noexcept = default;
        event_revoker(std::function<void()> revoke, std::shared_ptr<std::atomic<bool>> alive) noexcept
            : m_revoke(std::move(revoke)), m_alive(std::move(alive)) {}
        event_revoker(event_revoker&& other) noexcept = default;
        event_revoker& operator=(event_revoker&& other) noexcept
        {
            if (this != &other)
            {
                revoke();
                m_revoke = std::move(other.m_revoke);
                m_alive = std::move(other.m_alive);
            }
            return *this;
        }
        ~event_revoker() { revoke(); }

        explicit operator bool() const noexcept { return m_alive && m_alive->load(); }

        void revoke() noexcept
        {
            if (m_alive && m_alive->load() && m_revoke)
            {
                m_revoke();
            }
            m_revoke = nullptr;
            m_alive = nullptr;
        }

    private:
        std::function<void()> m_revoke;
        std::shared_ptr<std::atomic<bool>> m_alive;
    };
}

#endif
