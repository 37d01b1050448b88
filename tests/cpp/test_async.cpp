// Async through the projection: co_await on library operations (finished already, failing,
// canceled, racing their completion, their socket released meanwhile), get() / wait_for and
// their refusal inside a handler, Completed, coroutines returning IAsyncAction and
// IAsyncOperation<T> consumed by C code, chrono delays, resume_background, resume_foreground
// on a DispatcherQueue, and a socket bound to a queue.
#include "cpptest.h"

#include <rtws/Windows.Foundation.Collections.h>
#include <rtws/Windows.System.Threading.h>

#include <atomic>
#include <optional>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::Networking::Sockets;
using namespace Windows::Storage::Streams;
using namespace Windows::System;
using namespace std::chrono_literals;

namespace
{
    // What a test coroutine saw: the HRESULT it caught (S_OK: none) and its message.
    struct outcome
    {
        hresult code = S_OK;
        std::string message;
        std::thread::id thread;
    };

    IAsyncAction connect_and_catch(MessageWebSocket ws, hstring uri, outcome& out, IAsyncAction* pending = nullptr)
    {
        try
        {
            IAsyncAction connect = ws.ConnectAsync(Uri{ uri });
            if (pending)
            {
                *pending = connect;
            }
            co_await connect;
        }
        catch (hresult_error const& e)
        {
            out.code = e.code();
            out.message = to_string(e.message());
        }
        out.thread = std::this_thread::get_id();
    }

    void test_co_await_connect_and_finished_operation()
    {
        MessageWebSocket ws;
        outcome out;
        IAsyncAction const done = connect_and_catch(ws, cpptest::url("/echo"), out);
        CHECK(done.wait_for(10s) == AsyncStatus::Completed);
        CHECK(out.code == S_OK);

        // co_await an operation that already finished: no suspension, no Completed taken.
        auto finished = [](MessageWebSocket socket) -> IAsyncOperation<uint32_t> {
            DataWriter writer{ socket.OutputStream() };
            writer.WriteString(L"x");
            IAsyncOperation<uint32_t> store = writer.StoreAsync();
            store.get();
            uint32_t const first = co_await store;
            uint32_t const again = co_await store;
            writer.DetachStream();
            co_return first + again;
        }(ws);
        CHECK(finished.get() == 2);
        // A coroutine that finished before returning: its operation is Completed at once.
        IAsyncOperation<bool> const at_once = []() -> IAsyncOperation<bool> { co_return true; }();
        CHECK(at_once.Status() == AsyncStatus::Completed);
        CHECK(at_once.GetResults());
    }

    void test_co_await_failure_and_cancel()
    {
        // Nothing listens on port 1: the connect fails with its HRESULT and rtws's message.
        outcome refused;
        connect_and_catch(MessageWebSocket{}, L"ws://127.0.0.1:1/", refused).get();
        CHECK(refused.code == WININET_E_CANNOT_CONNECT);
        CHECK(!refused.message.empty());
        std::printf("connect to port 1: 0x%08X %s\n", static_cast<unsigned>(refused.code), refused.message.c_str());

        // Cancel: hresult_canceled.
        outcome canceled;
        IAsyncAction pending{ nullptr };
        IAsyncAction const done = connect_and_catch(MessageWebSocket{}, cpptest::url("/nohandshake"), canceled, &pending);
        CHECK(done.Status() == AsyncStatus::Started);
        pending.Cancel();
        CHECK(done.wait_for(5s) == AsyncStatus::Completed);
        CHECK(canceled.code == RTWS_E_CANCELLED);
        CHECK(pending.Status() == AsyncStatus::Canceled);
        CHECK(pending.ErrorCode() == RTWS_E_CANCELLED);
        CHECK_THROWS(pending.GetResults(), RTWS_E_CANCELLED);
        try
        {
            pending.get();
            CHECK(false);
        }
        catch (hresult_canceled const&)
        {
        }
    }

    void test_socket_released_while_awaiting()
    {
        // The coroutine holds the operation only; the socket's last copy goes meanwhile: the
        // connect ends (RTWS_E_OPERATION_ABORTED) and the coroutine resumes with it.
        outcome out;
        IAsyncAction done{ nullptr };
        {
            MessageWebSocket ws;
            IAsyncAction connect = ws.ConnectAsync(Uri{ cpptest::url("/nohandshake") });
            done = [](IAsyncAction op, outcome& result) -> IAsyncAction {
                try
                {
                    co_await op;
                }
                catch (hresult_error const& e)
                {
                    result.code = e.code();
                }
            }(connect, out);
            CHECK(done.Status() == AsyncStatus::Started);
        }
        CHECK(done.wait_for(10s) == AsyncStatus::Completed);
        CHECK(out.code == RTWS_E_OPERATION_ABORTED);
    }

    void test_await_races_completion()
    {
        // Many short delays: their completion races await_suspend's registration; every
        // co_await must resume exactly once (a lost or doubled resume hangs or crashes).
        IAsyncOperation<uint32_t> const loops = []() -> IAsyncOperation<uint32_t> {
            uint32_t count = 0;
            for (int i = 0; i < 300; ++i)
            {
                co_await std::chrono::microseconds(i % 7);
                ++count;
            }
            co_return count;
        }();
        CHECK(loops.wait_for(30s) == AsyncStatus::Completed);
        CHECK(loops.GetResults() == 300);
    }

    void test_get_and_wait_for()
    {
        IAsyncAction const delay = []() -> IAsyncAction { co_await 300ms; }();
        CHECK(delay.wait_for(10ms) == AsyncStatus::Started);
        CHECK(delay.Status() == AsyncStatus::Started);
        auto const start = std::chrono::steady_clock::now();
        delay.get();
        CHECK(std::chrono::steady_clock::now() - start >= 200ms);
        CHECK(delay.wait_for(0s) == AsyncStatus::Completed);
        CHECK(delay.ErrorCode() == S_OK);
        CHECK(delay.Id() != 0);

        // Inside a handler a blocking get()/wait_for is refused with the C HRESULT.
        IAsyncAction const slow = []() -> IAsyncAction { co_await 5s; }();
        std::optional<hresult> get_code, wait_code;
        cpptest::signal ran;
        IAsyncAction const trigger = []() -> IAsyncAction { co_await 1ms; }();
        trigger.Completed([&](IAsyncAction const&, AsyncStatus status) {
            CHECK(status == AsyncStatus::Completed);
            try
            {
                slow.get();
            }
            catch (hresult_error const& e)
            {
                get_code = e.code();
            }
            try
            {
                slow.wait_for(1s);
            }
            catch (hresult_error const& e)
            {
                wait_code = e.code();
            }
            ran.bump();
        });
        CHECK(ran.wait_for(1));
        CHECK(get_code == E_ILLEGAL_METHOD_CALL);
        CHECK(wait_code == E_ILLEGAL_METHOD_CALL);
        slow.Cancel();
        CHECK(slow.Status() == AsyncStatus::Canceled);

        // One Completed per operation.
        CHECK_THROWS(trigger.Completed([](IAsyncAction const&, AsyncStatus) {}), E_ILLEGAL_DELEGATE_ASSIGNMENT);
    }

    IAsyncAction failing_action() { throw hresult_error(E_NOTIMPL, hstring(L"not done yet: \u20ac")); co_return; }
    IAsyncAction canceled_action() { throw hresult_canceled(); co_return; }
    IAsyncOperation<uint32_t> answer() { co_await 1ms; co_return 42; }
    IAsyncOperation<IBuffer> buffer_of(std::vector<byte> bytes) { co_return Buffer::CreateFromBytes(bytes); }

    void test_coroutine_operations_from_c()
    {
        // A coroutine's IAsyncAction is an rtws operation: C code waits on it.
        IAsyncAction const ok = []() -> IAsyncAction { co_await 10ms; }();
        CHECK(abi::IAsyncAction_Wait(ok.abi(), 5000) == S_OK);

        // Its exception is its Error, with the message, as C sees it.
        IAsyncAction const failed = failing_action();
        CHECK(abi::IAsyncAction_Wait(failed.abi(), 5000) == E_NOTIMPL);
        CHECK(std::string(abi::rtws_GetLastErrorMessage()) == "not done yet: \xE2\x82\xAC");
        CHECK(failed.Status() == AsyncStatus::Error);
        try
        {
            failed.get();
            CHECK(false);
        }
        catch (hresult_not_implemented const& e)
        {
            CHECK(e.message() == L"not done yet: \u20ac");
        }

        // hresult_canceled makes it Canceled.
        IAsyncAction const canceled = canceled_action();
        CHECK(canceled.Status() == AsyncStatus::Canceled);
        CHECK(abi::IAsyncAction_Wait(canceled.abi(), 0) == RTWS_E_CANCELLED);

        uint32_t result = 0;
        IAsyncOperation<uint32_t> const value = answer();
        CHECK(abi::IAsyncOperationUInt32_Wait(value.abi(), 5000, &result) == S_OK);
        CHECK(result == 42);
        CHECK(value.get() == 42);

        IAsyncOperation<IBuffer> const buffer = buffer_of({ 1, 2, 3 });
        CHECK(buffer.get().Length() == 3);
        abi::IBuffer* raw = nullptr;
        CHECK(abi::IAsyncOperationIBuffer_GetResults(buffer.abi(), &raw) == S_OK);
        abi::IBuffer_Release(raw);

        // C's Completed on a coroutine's operation runs when the coroutine ends.
        struct seen
        {
            cpptest::signal calls;
            abi::AsyncStatus status = abi::AsyncStatus_Started;
        } completed;
        IAsyncAction const later = []() -> IAsyncAction { co_await 20ms; }();
        CHECK(abi::IAsyncAction_put_Completed(
                  later.abi(),
                  [](void* context, abi::IAsyncAction*, abi::AsyncStatus status) {
                      static_cast<seen*>(context)->status = status;
                      static_cast<seen*>(context)->calls.bump();
                  },
                  &completed)
              == S_OK);
        CHECK(completed.calls.wait_for(1));
        CHECK(completed.status == abi::AsyncStatus_Completed);

        // A consumer's Cancel ends the operation at once; the coroutine goes on to its next
        // co_await, which throws hresult_canceled into it.
        std::atomic<int> stage{ 0 };
        IAsyncAction const long_one = [](std::atomic<int>& reached) -> IAsyncAction {
            co_await 50ms;
            reached = 1;
            try
            {
                co_await 1ms;
                reached = 2;
            }
            catch (hresult_canceled const&)
            {
                reached = 3;
                throw;
            }
        }(stage);
        long_one.Cancel();
        CHECK(long_one.Status() == AsyncStatus::Canceled);
        for (int i = 0; i < 100 && stage < 3; ++i)
        {
            std::this_thread::sleep_for(10ms);
        }
        CHECK(stage == 3);
        CHECK(long_one.Status() == AsyncStatus::Canceled);
    }

    void test_delay_and_resume_background()
    {
        std::thread::id const main_thread = std::this_thread::get_id();
        struct seen
        {
            std::thread::id after_background;
            std::chrono::steady_clock::duration delayed{};
            bool blocking_allowed = false;
        } result;
        IAsyncAction const work = [](seen& out) -> IAsyncAction {
            co_await resume_background();
            out.after_background = std::this_thread::get_id();
            // A pool thread may block.
            IAsyncAction const inner = []() -> IAsyncAction { co_await 10ms; }();
            inner.get();
            out.blocking_allowed = true;
            auto const start = std::chrono::steady_clock::now();
            co_await 100ms;
            out.delayed = std::chrono::steady_clock::now() - start;
        }(result);
        work.get();
        CHECK(result.after_background != main_thread);
        CHECK(result.blocking_allowed);
        CHECK(result.delayed >= 90ms);
        // ThreadPool::RunAsync: the work item on a pool thread, its operation done after it.
        std::thread::id pool_thread;
        IAsyncAction const pooled = Windows::System::Threading::ThreadPool::RunAsync([&pool_thread](IAsyncAction const& operation) {
            pool_thread = std::this_thread::get_id();
            CHECK(operation.Status() == AsyncStatus::Started);
        });
        pooled.get();
        CHECK(pool_thread != main_thread && pool_thread != std::thread::id());
        // A negative duration is refused by the library.
        IAsyncAction const negative = []() -> IAsyncAction { co_await std::chrono::seconds(-1); }();
        CHECK(negative.Status() == AsyncStatus::Error);
        CHECK(negative.ErrorCode() == E_INVALIDARG);
    }

    void test_resume_foreground()
    {
        DispatcherQueue queue;
        std::thread::id const main_thread = std::this_thread::get_id();
        std::thread::id on_queue;
        IAsyncAction const work = [](DispatcherQueue q, std::thread::id& where) -> IAsyncAction {
            co_await resume_background();
            co_await resume_foreground(q);
            where = std::this_thread::get_id();
        }(queue, on_queue);
        // The host's loop: run the queue until the coroutine is done.
        for (int i = 0; i < 500 && work.Status() == AsyncStatus::Started; ++i)
        {
            if (queue.Wait(10ms))
            {
                queue.RunPending();
            }
        }
        CHECK(work.Status() == AsyncStatus::Completed);
        CHECK(on_queue == main_thread);
        CHECK(queue.HasThreadAccess());

        // TryEnqueue with a delegate.
        int calls = 0;
        CHECK(queue.TryEnqueue([&calls] { ++calls; }));
        CHECK(queue.RunPending() == 1);
        CHECK(calls == 1);
        CHECK(queue.FileDescriptor() >= 0);

        // A stopped queue: resume_foreground goes on where it is and throws RO_E_CLOSED; work
        // posted and dropped unrun resumes too (and throws), never hangs.
        outcome stopped;
        // (The coroutine takes the queue by reference: a copy would be a handle keeping it.)
        IAsyncAction const refused = [](DispatcherQueue const& q, outcome& out) -> IAsyncAction {
            try
            {
                co_await resume_foreground(q);
            }
            catch (hresult_error const& e)
            {
                out.code = e.code();
            }
        }(queue, stopped);
        CHECK(refused.Status() == AsyncStatus::Started);  // posted, waiting for RunPending
        queue = nullptr;  // the host's last handle: the queue stops, the item is dropped
        CHECK(refused.wait_for(5s) == AsyncStatus::Completed);
        CHECK(stopped.code == RO_E_CLOSED);
    }

    void test_socket_bound_to_queue()
    {
        // Handlers and co_await continuations of a bound socket run on the queue's thread.
        DispatcherQueue queue;
        std::thread::id const main_thread = std::this_thread::get_id();
        std::thread::id after_connect, in_handler;
        hstring echoed;
        MessageWebSocket ws;
        ws.DispatcherQueue(queue);
        CHECK(static_cast<bool>(ws.DispatcherQueue()));
        ws.Control().MessageType(SocketMessageType::Utf8);
        ws.MessageReceived([&](MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const& args) {
            in_handler = std::this_thread::get_id();
            DataReader reader{ args.GetDataReader() };
            echoed = reader.ReadString(reader.UnconsumedBufferLength());
        });
        IAsyncAction const work = [](MessageWebSocket socket, std::thread::id& where) -> IAsyncAction {
            co_await socket.ConnectAsync(Uri{ cpptest::url("/echo") });
            where = std::this_thread::get_id();
            DataWriter writer{ socket.OutputStream() };
            writer.WriteString(L"queued");
            co_await writer.StoreAsync();
            writer.DetachStream();
        }(ws, after_connect);
        for (int i = 0; i < 500 && (work.Status() == AsyncStatus::Started || echoed.empty()); ++i)
        {
            if (queue.Wait(10ms))
            {
                queue.RunPending();
            }
        }
        CHECK(work.Status() == AsyncStatus::Completed);
        CHECK(after_connect == main_thread);
        CHECK(in_handler == main_thread);
        CHECK(echoed == L"queued");
    }

    void test_streams_round_trip()
    {
        // Typed values through a message, little-endian, and IInputStream/IOutputStream on a
        // StreamWebSocket with IBuffer operations.
        cpptest::signal received;
        bool values_ok = false;
        MessageWebSocket ws;
        event_token const typed = ws.MessageReceived([&](MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const& args) {
            DataReader reader{ args.GetDataReader() };
            reader.ByteOrder(ByteOrder::LittleEndian);
            std::vector<byte> head(2);
            reader.ReadBytes(head);
            values_ok = head == std::vector<byte>{ 7, 8 } && reader.ReadByte() == 9 && reader.ReadBoolean() && reader.ReadInt16() == -2
                        && reader.ReadUInt16() == 65535 && reader.ReadInt32() == -3 && reader.ReadUInt32() == 4000000000u
                        && reader.ReadInt64() == -5 && reader.ReadUInt64() == 6 && reader.ReadSingle() == 1.5f
                        && reader.ReadDouble() == 2.25 && reader.ReadString(reader.UnconsumedBufferLength()) == L"\u00e9t\u00e9";
            CHECK_THROWS(reader.ReadByte(), E_BOUNDS);
            received.bump();
        });
        ws.ConnectAsync(Uri{ cpptest::url("/echo") }).get();
        DataWriter writer{ ws.OutputStream() };
        writer.ByteOrder(ByteOrder::LittleEndian);
        writer.WriteBytes({ 7, 8 });
        writer.WriteByte(9);
        writer.WriteBoolean(true);
        writer.WriteInt16(-2);
        writer.WriteUInt16(65535);
        writer.WriteInt32(-3);
        writer.WriteUInt32(4000000000u);
        writer.WriteInt64(-5);
        writer.WriteUInt64(6);
        writer.WriteSingle(1.5f);
        writer.WriteDouble(2.25);
        writer.WriteString(L"\u00e9t\u00e9");
        CHECK(writer.StoreAsync().get() == 49);
        CHECK(writer.FlushAsync().get());
        writer.DetachStream();
        CHECK(received.wait_for(1));
        CHECK(values_ok);

        // Frames: "Hel" + "lo" as one message.
        ws.MessageReceived(typed);
        cpptest::signal framed;
        hstring whole;
        ws.Control().MessageType(SocketMessageType::Utf8);
        ws.MessageReceived([&](MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const& args) {
            if (args.MessageType() == SocketMessageType::Utf8)
            {
                DataReader reader{ args.GetDataReader() };
                whole = reader.ReadString(reader.UnconsumedBufferLength());
                framed.bump();
            }
        });
        CHECK(ws.SendNonfinalFrameAsync(Buffer::CreateFromBytes({ 'H', 'e', 'l' })).get() == 3);
        CHECK(ws.SendFinalFrameAsync(Buffer::CreateFromBytes({ 'l', 'o' })).get() == 2);
        CHECK(framed.wait_for(1));
        CHECK(whole == L"Hello");

        StreamWebSocket stream;
        stream.ConnectAsync(Uri{ cpptest::url("/echo") }).get();
        IAsyncOperation<IBuffer> const echoed = [](StreamWebSocket s) -> IAsyncOperation<IBuffer> {
            // (Not a braced list inside the co_await: g++ 12 fails on that in a coroutine.)
            std::vector<byte> const data{ 1, 2, 3, 4 };
            co_await s.OutputStream().WriteAsync(Buffer::CreateFromBytes(data));
            co_await s.OutputStream().FlushAsync();
            IBuffer const filled = co_await s.InputStream().ReadAsync(Buffer{ 64 }, 64, InputStreamOptions::Partial);
            co_return filled;
        }(stream);
        IBuffer const bytes = echoed.get();
        CHECK(bytes.Length() == 4);
        std::vector<byte> copy(4);
        bytes.CopyTo(0, copy);
        CHECK(copy == (std::vector<byte>{ 1, 2, 3, 4 }));
        DataReader reader{ stream.InputStream() };
        CHECK(reader.InputStreamOptions() == InputStreamOptions::None);
        reader.InputStreamOptions(InputStreamOptions::Partial | InputStreamOptions::ReadAhead);
        IInputStream detached = reader.DetachStream();
        CHECK(static_cast<bool>(detached));
        reader.Close();
        stream.Close();
    }
}

int main(int argc, char** argv)
{
    return cpptest::run(argc, argv,
                        { TEST(test_co_await_connect_and_finished_operation), TEST(test_co_await_failure_and_cancel),
                          TEST(test_socket_released_while_awaiting), TEST(test_await_races_completion), TEST(test_get_and_wait_for),
                          TEST(test_coroutine_operations_from_c), TEST(test_delay_and_resume_background), TEST(test_resume_foreground),
                          TEST(test_socket_bound_to_queue), TEST(test_streams_round_trip) });
}
