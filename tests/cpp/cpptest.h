/*
 * Minimal test support for the C++ projection's tests (tests/cpp/test_*.cpp), after
 * tests/c/testutil.h: CHECK counts and reports, CHECK_THROWS checks the HRESULT of an
 * hresult_error, bounded waits, and main: `test_x ws://127.0.0.1:PORT [ARG...] [NAME...]`
 * (ARG: as many as the program asks for, in cpptest::args) runs every test of the program (or
 * those named, with or without "test_"), then rtws_Shutdown (so valgrind sees every library
 * thread end), and exits non-zero if a check failed.
 */
#ifndef RTWS_CPPTEST_H
#define RTWS_CPPTEST_H

#include <rtws/Windows.Foundation.h>
#include <rtws/Windows.Networking.Sockets.h>
#include <rtws/Windows.Storage.Streams.h>
#include <rtws/Windows.System.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cpptest
{
    inline int checks, failures;
    inline std::string base_url;  // ws://127.0.0.1:PORT, argv[1]
    inline std::vector<std::string> args;  // the program's own arguments after it

    inline void check(bool ok, char const* what, char const* file, int line)
    {
        ++checks;
        if (!ok)
        {
            ++failures;
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
        }
    }

    // Runs `body`; true when it threw an hresult_error with `code` (else reports what it did).
    template <typename F>
    bool throws(F&& body, rtws::hresult code, char const* file, int line)
    {
        try
        {
            body();
            std::fprintf(stderr, "%s:%d: no exception (wanted 0x%08X)\n", file, line, static_cast<unsigned>(code));
        }
        catch (rtws::hresult_error const& e)
        {
            if (e.code() == code)
            {
                return true;
            }
            std::fprintf(stderr, "%s:%d: hresult_error 0x%08X (wanted 0x%08X): %s\n", file, line, static_cast<unsigned>(e.code()),
                         static_cast<unsigned>(code), rtws::to_string(e.message()).c_str());
        }
        return false;
    }

    inline rtws::hstring url(char const* path) { return rtws::to_hstring(base_url + path); }

    // A counter that threads bump and tests wait on.
    struct signal
    {
        std::mutex lock;
        std::condition_variable changed;
        int count = 0;

        void bump()
        {
            std::lock_guard guard(lock);
            ++count;
            changed.notify_all();
        }
        bool wait_for(int at_least, std::chrono::milliseconds timeout = std::chrono::seconds(10))
        {
            std::unique_lock guard(lock);
            return changed.wait_for(guard, timeout, [&] { return count >= at_least; });
        }
        int value()
        {
            std::lock_guard guard(lock);
            return count;
        }
    };

    struct test
    {
        char const* name;
        void (*body)();
    };

    inline int run(int argc, char** argv, std::vector<test> const& tests, int arg_count = 0)
    {
        if (argc < 2 + arg_count)
        {
            std::fprintf(stderr, "usage: %s ws://127.0.0.1:PORT [%d more] [TEST...]\n", argv[0], arg_count);
            return 2;
        }
        base_url = argv[1];
        args.assign(argv + 2, argv + 2 + arg_count);
        int const first_name = 2 + arg_count;
        int ran = 0;
        for (auto const& t : tests)
        {
            bool wanted = argc == first_name;
            for (int i = first_name; i < argc; ++i)
            {
                wanted = wanted || std::strcmp(argv[i], t.name) == 0 || std::strcmp(argv[i], t.name + 5) == 0;
            }
            if (!wanted)
            {
                continue;
            }
            std::printf("-- %s\n", t.name);
            std::fflush(stdout);
            try
            {
                t.body();
            }
            catch (rtws::hresult_error const& e)
            {
                ++failures;
                std::fprintf(stderr, "%s: hresult_error 0x%08X escaped: %s\n", t.name, static_cast<unsigned>(e.code()),
                             rtws::to_string(e.message()).c_str());
            }
            ++ran;
        }
        rtws::abi::rtws_Shutdown(5000);
        std::printf("%d tests, %d checks, %d failed\n", ran, checks, failures);
        return failures == 0 && ran > 0 ? 0 : 1;
    }
}

#define CHECK(cond) cpptest::check(static_cast<bool>(cond), #cond, __FILE__, __LINE__)
#define CHECK_THROWS(expr, code) cpptest::check(cpptest::throws([&] { (void)(expr); }, code, __FILE__, __LINE__), #expr " throws " #code, __FILE__, __LINE__)
#define TEST(fn) cpptest::test{ #fn, fn }

#endif
