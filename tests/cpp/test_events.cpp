// Events through the projection, against the test server's /echo: tokens and removal,
// delegates from lambdas, free functions and member functions, auto_revoke (also outliving its
// socket), a handler removing itself, throwing handlers, the Closed sender (IWebSocket), the
// MessageReceived arguments, and copies of one socket used and dropped on several threads.
#include "cpptest.h"

#include <atomic>
#include <memory>
#include <stdexcept>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::Networking::Sockets;
using namespace Windows::Storage::Streams;
using namespace std::chrono_literals;

namespace
{
    MessageWebSocket connected_socket()
    {
        MessageWebSocket ws;
        ws.Control().MessageType(SocketMessageType::Utf8);
        ws.ConnectAsync(Uri{ cpptest::url("/echo") }).get();
        return ws;
    }

    void send(MessageWebSocket const& ws, hstring const& text)
    {
        DataWriter writer{ ws.OutputStream() };
        writer.WriteString(text);
        writer.StoreAsync().get();
        writer.DetachStream();
    }

    hstring read_text(MessageWebSocketMessageReceivedEventArgs const& args)
    {
        DataReader reader{ args.GetDataReader() };
        return reader.ReadString(reader.UnconsumedBufferLength());
    }

    cpptest::signal free_function_calls;
    void free_function_handler(MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const&)
    {
        free_function_calls.bump();
    }

    struct Page
    {
        cpptest::signal calls;
        hstring last;
        void OnMessageReceived(MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const& args)
        {
            last = read_text(args);
            calls.bump();
        }
    };

    void test_token_and_remove()
    {
        cpptest::signal first, second;  // before the socket: they outlive its handlers
        MessageWebSocket ws = connected_socket();
        event_token const token = ws.MessageReceived([&](auto const&, auto const&) { first.bump(); });
        CHECK(static_cast<bool>(token));
        ws.MessageReceived([&](MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const&) { second.bump(); });
        send(ws, L"one");
        CHECK(second.wait_for(1));
        CHECK(first.wait_for(1));
        ws.MessageReceived(token);  // once this returns, `first` is not called again
        send(ws, L"two");
        CHECK(second.wait_for(2));
        CHECK(first.value() == 1);
        ws.MessageReceived(token);  // an unknown token is ignored
    }

    void test_delegate_kinds()
    {
        Page page;
        cpptest::signal lambda_calls;
        MessageWebSocket ws = connected_socket();
        ws.MessageReceived({ &page, &Page::OnMessageReceived });
        ws.MessageReceived(free_function_handler);
        auto handler = [&lambda_calls](MessageWebSocket const&, MessageWebSocketMessageReceivedEventArgs const&) { lambda_calls.bump(); };
        MessageWebSocket::MessageReceivedHandler stored = handler;
        ws.MessageReceived(stored);
        send(ws, L"h\u00e9llo \U0001D11E");
        CHECK(page.calls.wait_for(1));
        CHECK(free_function_calls.wait_for(1));
        CHECK(lambda_calls.wait_for(1));
        CHECK(page.last == L"h\u00e9llo \U0001D11E");
    }

    void test_auto_revoke()
    {
        cpptest::signal revoked, kept;
        MessageWebSocket ws = connected_socket();
        ws.MessageReceived([&](auto const&, auto const&) { kept.bump(); });
        {
            event_revoker revoker = ws.MessageReceived(auto_revoke, [&](auto const&, auto const&) { revoked.bump(); });
            CHECK(static_cast<bool>(revoker));
            send(ws, L"a");
            CHECK(kept.wait_for(1));
            CHECK(revoked.wait_for(1));
        }
        send(ws, L"b");
        CHECK(kept.wait_for(2));
        CHECK(revoked.value() == 1);

        // A revoker that outlives its socket: the registration ended with the socket, so the
        // revoker turns false and its destruction does nothing.
        event_revoker outliving;
        event_revoker closed_revoker;
        {
            MessageWebSocket short_lived = connected_socket();
            outliving = short_lived.MessageReceived(auto_revoke, [](auto const&, auto const&) {});
            closed_revoker = short_lived.Closed(auto_revoke, [](IWebSocket const&, WebSocketClosedEventArgs const&) {});
            CHECK(static_cast<bool>(outliving));
        }
        CHECK(!outliving);
        CHECK(!closed_revoker);
        outliving.revoke();
        // Moving a revoker moves the duty.
        event_revoker first = ws.Closed(auto_revoke, [](IWebSocket const&, WebSocketClosedEventArgs const&) {});
        event_revoker second = std::move(first);
        CHECK(!first);
        CHECK(static_cast<bool>(second));
    }

    void test_handler_removes_itself()
    {
        cpptest::signal calls, other;
        MessageWebSocket ws = connected_socket();
        auto token = std::make_shared<event_token>();
        // The sender (not a captured copy of `ws`: the handler would keep its own socket alive).
        *token = ws.MessageReceived([&calls, token](MessageWebSocket const& sender, auto const&) {
            calls.bump();
            sender.MessageReceived(*token);
        });
        ws.MessageReceived([&](auto const&, auto const&) { other.bump(); });
        send(ws, L"1");
        send(ws, L"2");
        CHECK(other.wait_for(2));
        CHECK(calls.value() == 1);
    }

    // The records rtws's log gets from the projection (target "rtws::cpp").
    std::mutex log_lock;
    std::vector<std::string> cpp_records;
    void on_log(void*, abi::RtwsLogLevel level, char const* target, char const* message)
    {
        if (std::string(target) == "rtws::cpp" && level == abi::RtwsLogLevel_Error)
        {
            std::lock_guard guard(log_lock);
            cpp_records.emplace_back(message);
        }
    }

    void test_throwing_handler()
    {
        CHECK(abi::rtws_SetLogHandler(&on_log, nullptr, abi::RtwsLogLevel_Error) == S_OK);
        cpptest::signal after;
        MessageWebSocket ws = connected_socket();
        // Each exception is reported (stderr) and the event goes on to the next handler.
        ws.MessageReceived([](auto const&, auto const&) { throw hresult_illegal_method_call(hstring(L"thrown by a test handler")); });
        ws.MessageReceived([](auto const&, auto const&) { throw std::runtime_error("std::runtime_error from a test handler"); });
        ws.MessageReceived([](auto const&, auto const&) { throw 42; });
        ws.MessageReceived([&](auto const&, auto const&) { after.bump(); });
        send(ws, L"1");
        send(ws, L"2");
        CHECK(after.wait_for(2));
        // Completed handlers too.
        cpptest::signal completed;
        IAsyncAction delay = [] () -> IAsyncAction { co_await 1ms; }();
        delay.Completed([](IAsyncAction const&, AsyncStatus) { throw hresult_error(E_FAIL); });
        CHECK(delay.wait_for(5s) == AsyncStatus::Completed);
        // Each went to rtws's log, with the event's name, the HRESULT and the message (the
        // Completed handler's maybe still on its way: Wait returns as the operation ends).
        ws = nullptr;  // no handler runs any more
        auto records = [] {
            std::lock_guard guard(log_lock);
            return cpp_records.size();
        };
        for (int i = 0; i < 500 && records() < 7; ++i)
        {
            std::this_thread::sleep_for(10ms);
        }
        abi::rtws_SetLogHandler(nullptr, nullptr, abi::RtwsLogLevel_Off);
        std::lock_guard guard(log_lock);
        CHECK(cpp_records.size() == 7);
        CHECK(!cpp_records.empty()
              && cpp_records[0] == "a MessageReceived handler threw 0x8000000E: thrown by a test handler (the event goes on)");
        CHECK(cpp_records.size() > 1 && cpp_records[1].find("std::runtime_error from a test handler") != std::string::npos);
        CHECK(cpp_records.back().find("a Completed handler threw 0x80004005") == 0);
    }

    void test_closed_sender_and_args()
    {
        cpptest::signal closed, received, stream_closed;
        uint16_t code = 0;
        bool sender_is_ws = false, complete = false, stream_sender = false;
        SocketMessageType type = SocketMessageType::Binary;
        MessageWebSocket ws = connected_socket();
        abi::MessageWebSocket* const handle = ws.abi();
        ws.Closed([&](IWebSocket const& sender, WebSocketClosedEventArgs const& args) {
            sender_is_ws = sender.as<MessageWebSocket>().abi() == handle;
            code = args.Code();
            std::printf("Closed: %u \"%s\"\n", code, to_string(args.Reason()).c_str());
            closed.bump();
        });
        ws.MessageReceived([&](MessageWebSocket const& sender, MessageWebSocketMessageReceivedEventArgs const& args) {
            type = args.MessageType();
            complete = args.IsMessageComplete();
            DataReader reader{ args.GetDataStream() };
            received.bump();
            sender.Close(1000, L"bye");
        });
        send(ws, L"x");
        CHECK(received.wait_for(1));
        CHECK(closed.wait_for(1));
        CHECK(type == SocketMessageType::Utf8);
        CHECK(complete);
        CHECK(code == 1000);
        CHECK(sender_is_ws);

        // StreamWebSocket's Closed has the same sender type.
        StreamWebSocket stream;
        stream.Closed([&](IWebSocket const& sender, WebSocketClosedEventArgs const&) {
            stream_sender = static_cast<bool>(sender.try_as<StreamWebSocket>());
            stream_closed.bump();
        });
        stream.ConnectAsync(Uri{ cpptest::url("/echo") }).get();
        IWebSocket as_interface = stream;
        as_interface.Close(1000, L"");
        CHECK(stream_closed.wait_for(1));
        CHECK(stream_sender);
    }

    void test_copies_across_threads()
    {
        cpptest::signal received;
        MessageWebSocket ws = connected_socket();
        ws.MessageReceived([&](auto const&, auto const&) { received.bump(); });
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
        {
            threads.emplace_back([ws, t] {
                std::vector<MessageWebSocket> copies;
                for (int i = 0; i < 500; ++i)
                {
                    copies.push_back(ws);
                    MessageWebSocket moved = std::move(copies.back());
                    copies.back() = moved;
                }
                send(copies.front(), hstring(std::to_wstring(t)));
            });
        }
        for (auto& thread : threads)
        {
            thread.join();
        }
        CHECK(received.wait_for(4));
        CHECK(impl::ref_count<abi::MessageWebSocket>::add_ref(ws.abi()) == 2);
        impl::ref_count<abi::MessageWebSocket>::release(ws.abi());
    }
}

int main(int argc, char** argv)
{
    return cpptest::run(argc, argv,
                        { TEST(test_token_and_remove), TEST(test_delegate_kinds), TEST(test_auto_revoke), TEST(test_handler_removes_itself),
                          TEST(test_throwing_handler), TEST(test_closed_sender_and_args), TEST(test_copies_across_threads) });
}
