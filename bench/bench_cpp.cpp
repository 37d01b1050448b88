/*
 * bench_cpp: the C++ column of the benchmark (bench/README.md): bench_rtws's "handler"
 * variants written with the C++ projection (include/rtws/), to measure what the projection
 * costs over the C API in the same run.
 *
 *   bench_cpp URL latency N             32 B round trips, one in flight, after a warm-up:
 *                                       the next message is sent from inside MessageReceived
 *   bench_cpp URL pipelined N INFLIGHT  64 B messages, up to INFLIGHT in flight, one send
 *                                       per echo from inside MessageReceived: msgs/s
 *   options: --max-secs S (default 60), --ca FILE (wss: PEM roots to trust)
 *
 * Used as bench_rtws uses the C API: one DataWriter attached to the OutputStream, each send
 * WriteBytes + StoreAsync with the operation dropped unawaited (sends go out in call order),
 * every echo read out with GetDataReader + ReadBytes inside the handler.
 * Output: RESULT client=rtws-cpp threads=T mode=M metric=NAME value=V n=COUNT, with
 * bench_rtws's metric names (latency_handler_p50_us, pipelined_msgs_per_s, ...).
 */
#include <rtws/Windows.Foundation.h>
#include <rtws/Windows.Networking.Sockets.h>
#include <rtws/Windows.Storage.Streams.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::Networking::Sockets;
using namespace Windows::Storage::Streams;
using steady = std::chrono::steady_clock;

namespace
{
    char const* threads_label = "default";
    char const* metric_prefix = "";
    int failures = 0;

    void result(char const* mode, std::string const& metric, double value, long n)
    {
        std::printf("RESULT client=rtws-cpp threads=%s mode=%s metric=%s%s value=%.3f n=%ld\n", threads_label, mode, metric_prefix,
                    metric.c_str(), value, n);
        std::fflush(stdout);
    }

    // One connection and what its handler shares with the main thread.
    struct bench
    {
        MessageWebSocket ws;
        DataWriter writer{ nullptr };
        std::vector<byte> payload;
        std::vector<byte> received_bytes = std::vector<byte>(64);
        std::mutex lock;       // done, error
        std::mutex send_lock;  // pipelined: `sent` and the writer, shared by main and handler
        std::condition_variable done_changed;
        bool done = false;
        hresult error = S_OK;

        // What the running loop needs in the handler.
        bool latency = true;
        long received = 0, sent = 0, warmup = 0, target = 0, inflight = 0;
        steady::time_point t_send, deadline;
        std::vector<double> samples;  // µs

        void send()
        {
            writer.WriteBytes(payload);
            writer.StoreAsync();  // dropped: the send goes out; nobody waits for it
        }

        void finish(hresult code)
        {
            std::lock_guard guard(lock);
            if (code < 0 && error == S_OK)
            {
                error = code;
            }
            done = true;
            done_changed.notify_all();
        }

        void on_message(MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const& args)
        {
            try
            {
                DataReader reader{ args.GetDataReader() };
                reader.ReadBytes(array_view<byte>(received_bytes.data(), reader.UnconsumedBufferLength()));
                long const i = received++;
                if (latency)
                {
                    auto const now = steady::now();
                    if (i >= warmup)
                    {
                        samples[i - warmup] = std::chrono::duration<double, std::micro>(now - t_send).count();
                    }
                    if (received >= warmup + target || now >= deadline)
                    {
                        finish(S_OK);
                        return;
                    }
                    t_send = steady::now();
                    send();
                }
                else
                {
                    // The time limit every 256 echoes, as the raw client (and bench_rtws) look.
                    if (received >= target || (received % 256 == 0 && steady::now() >= deadline))
                    {
                        finish(S_OK);
                        return;
                    }
                    std::lock_guard guard(send_lock);
                    if (sent < target)
                    {
                        ++sent;
                        send();
                    }
                }
            }
            catch (hresult_error const& e)
            {
                std::fprintf(stderr, "bench_cpp: 0x%08X %s\n", static_cast<unsigned>(e.code()), to_string(e.message()).c_str());
                finish(e.code());
            }
        }

        bool wait_done(std::chrono::seconds limit)
        {
            std::unique_lock guard(lock);
            return done_changed.wait_for(guard, limit, [&] { return done; });
        }
    };

    void report_latency(std::vector<double> s, long n)
    {
        if (n <= 0)
        {
            std::fprintf(stderr, "bench_cpp: latency: no samples\n");
            ++failures;
            return;
        }
        s.resize(static_cast<size_t>(n));
        std::sort(s.begin(), s.end());
        double const sum = std::accumulate(s.begin(), s.end(), 0.0);
        // Nearest-rank percentiles, as bench_rtws and the raw client compute them.
        auto rank = [&](double p) { return s[static_cast<size_t>(std::max(0L, static_cast<long>(std::ceil(p * n)) - 1))]; };
        result("latency", "latency_handler_p50_us", rank(0.50), n);
        result("latency", "latency_handler_p99_us", rank(0.99), n);
        result("latency", "latency_handler_mean_us", sum / n, n);
    }
}

int main(int argc, char** argv)
{
    double max_secs = 60;
    std::string ca;
    std::vector<char*> args;
    for (int i = 1; i < argc; ++i)
    {
        if (std::strcmp(argv[i], "--max-secs") == 0 && i + 1 < argc)
        {
            max_secs = std::atof(argv[++i]);
        }
        else if (std::strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
        {
            std::ifstream in(argv[++i], std::ios::binary);
            ca.assign(std::istreambuf_iterator<char>(in), {});
        }
        else
        {
            args.push_back(argv[i]);
        }
    }
    bool const latency = args.size() >= 3 && std::strcmp(args[1], "latency") == 0;
    bool const pipelined = args.size() >= 4 && std::strcmp(args[1], "pipelined") == 0;
    long const n = args.size() >= 3 ? std::atol(args[2]) : 0;
    long const inflight = pipelined ? std::atol(args[3]) : 1;
    if ((!latency && !pipelined) || n <= 0 || inflight <= 0 || !(max_secs > 0))
    {
        std::fprintf(stderr, "usage: %s URL latency N | URL pipelined N INFLIGHT [--max-secs S] [--ca FILE]\n", argv[0]);
        return 2;
    }
    if (std::strncmp(args[0], "wss://", 6) == 0)
    {
        metric_prefix = "wss_";
    }
    if (char const* t = std::getenv("RTWS_WORKER_THREADS"); t && *t)
    {
        threads_label = t;
    }

    try
    {
        bench b;
        b.payload.assign(latency ? 32 : 64, 0x5a);
        b.latency = latency;
        b.ws.MessageReceived({ &b, &bench::on_message });
        if (!ca.empty())
        {
            b.ws.Control().TrustedRootCertificates(to_hstring(ca));
        }
        b.ws.ConnectAsync(Uri{ to_hstring(args[0]) }).get();
        b.writer = DataWriter{ b.ws.OutputStream() };

        auto const start = steady::now();
        b.deadline = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(max_secs));
        auto const limit = std::chrono::seconds(static_cast<long>(max_secs) + 10);
        if (latency)
        {
            b.warmup = std::clamp(n / 10, 100L, 2000L);
            b.target = n;
            b.samples.resize(static_cast<size_t>(n));
            b.t_send = steady::now();
            b.send();
            bool const ok = b.wait_done(limit);
            long const got = b.received - b.warmup;
            if (!ok || b.error != S_OK || got < n)
            {
                ++failures;
            }
            report_latency(b.samples, std::min(got, n));
        }
        else
        {
            b.target = n;
            b.inflight = inflight;
            {
                std::lock_guard guard(b.send_lock);  // the handler sends too
                for (; b.sent < std::min(inflight, n); ++b.sent)
                {
                    b.send();
                }
            }
            bool const ok = b.wait_done(limit);
            double const secs = std::chrono::duration<double>(steady::now() - start).count();
            if (!ok || b.error != S_OK || b.received < n)
            {
                ++failures;
            }
            result("pipelined", "pipelined_msgs_per_s", static_cast<double>(b.received) / secs, b.received);
        }
        b.writer.DetachStream();
        b.ws.Close();
        b.ws = nullptr;  // the last release: no handler runs after it, while `b` still lives
    }
    catch (hresult_error const& e)
    {
        std::fprintf(stderr, "bench_cpp: 0x%08X %s\n", static_cast<unsigned>(e.code()), to_string(e.message()).c_str());
        ++failures;
    }
    abi::rtws_Shutdown(2000);
    return failures ? 1 : 0;
}
