/*
 * Test stub, not part of rtws: the XAML page types and Win32 call that the seed's C++/WinRT
 * samples use besides the WebSocket API (the "a test stubs the XAML page types and
 * OutputDebugString"), plus the small host that runs a sample page as a program.
 *
 * - NavigationEventArgs: an empty argument for OnNavigatedTo.
 * - OutputDebugString: prints the text to stdout as UTF-8 (ctest checks it) and remembers
 *   it, so the host can wait for a line.
 * - echo_uri: the server the samples connect to (argv[1]), in place of the seed's
 *   wss://echo.websocket.org. For a wss: server, argv[2] names the test CA's PEM file,
 *   which the host trusts through OpenSSL's SSL_CERT_FILE (the system's roots that rtws
 *   loads), so the samples' text needs no certificate code.
 * - run_sample: runs a page's OnNavigatedTo, waits for the lines the sample prints last, then
 *   shuts rtws down; exit status 0 when they all came in time.
 */
#ifndef RTWS_TEST_STUB_WINDOWS_UI_XAML_NAVIGATION_H
#define RTWS_TEST_STUB_WINDOWS_UI_XAML_NAVIGATION_H

#include <rtws/Windows.Foundation.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <string>

namespace rtws::Windows::UI::Xaml::Navigation
{
    struct NavigationEventArgs
    {
    };
}

namespace sample_host
{
    inline std::mutex lock;
    inline std::condition_variable printed;
    inline std::wstring output;

    // Waits until every one of `lines` was printed through OutputDebugString, at most `timeout`.
    inline bool wait_for_output(std::initializer_list<std::wstring_view> lines, std::chrono::seconds timeout)
    {
        std::unique_lock guard(lock);
        return printed.wait_for(guard, timeout, [&] {
            for (auto line : lines)
            {
                if (output.find(line) == std::wstring::npos)
                {
                    return false;
                }
            }
            return true;
        });
    }
}

inline void OutputDebugString(wchar_t const* text)
{
    std::string const utf8 = rtws::to_string(std::wstring_view(text));
    std::lock_guard guard(sample_host::lock);
    std::fputs(utf8.c_str(), stdout);
    std::fflush(stdout);
    sample_host::output += text;
    sample_host::printed.notify_all();
}

// The seed's server, wss://echo.websocket.org, is this one here: argv[1].
inline rtws::hstring echo_uri;

// Runs `navigate` (which calls the page's OnNavigatedTo) with echo_uri set from argv[1],
// then waits for `last_lines`; rtws_Shutdown lets valgrind see every library thread end.
template <typename Navigate>
int run_sample(int argc, char** argv, Navigate navigate, std::initializer_list<std::wstring_view> last_lines)
{
    if (argc < 2)
    {
        std::fprintf(stderr, "usage: %s ws://HOST:PORT/echo | wss://HOST:PORT/echo CA.pem\n", argv[0]);
        return 2;
    }
    echo_uri = rtws::to_hstring(argv[1]);
    if (argc > 2)
    {
        ::setenv("SSL_CERT_FILE", argv[2], 1);
    }
    bool ok = false;
    try
    {
        ok = navigate([&] { return sample_host::wait_for_output(last_lines, std::chrono::seconds(20)); });
    }
    catch (rtws::hresult_error const& e)
    {
        std::fprintf(stderr, "sample failed: 0x%08X %s\n", static_cast<unsigned>(e.code()), rtws::to_string(e.message()).c_str());
    }
    rtws::abi::rtws_Shutdown(5000);
    if (!ok)
    {
        std::fprintf(stderr, "the sample did not print what it should\n");
    }
    return ok ? 0 : 1;
}

#endif
