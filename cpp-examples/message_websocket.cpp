/*
 * MessageWebSocket: "Hello, World!" sent, echoed, read in MessageReceived, closed with 1000.
 *
 * The seed's C++/WinRT sample (shared/seed/websockets.md), compiled against rtws's C++
 * projection after the rename winrt -> rtws (#include <rtws/X.h>, namespace rtws). The
 * sample's own text is unchanged but for:
 * - the URL: Uri{ echo_uri } (argv[1], the bundled test server) instead of wss://echo.websocket.org;
 * - what the seed elides as "...": the class around the members;
 * - main(), below the sample, which runs the page (tests/cpp/stubs: NavigationEventArgs,
 *   OutputDebugString, run_sample).
 * Built with -Wno-unused-variable -Wno-unused-parameter: the sample keeps webErrorStatus
 * and handler parameters it does not use.
 */
#include <rtws/Windows.Foundation.h>
#include <rtws/Windows.Networking.Sockets.h>
#include <rtws/Windows.Storage.Streams.h>
#include <rtws/Windows.UI.Xaml.Navigation.h>
#include <sstream>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::Storage::Streams;
using namespace Windows::UI::Xaml::Navigation;

struct MessageWebSocketPage
{
private:
    Windows::Networking::Sockets::MessageWebSocket m_messageWebSocket;
    rtws::event_token m_messageReceivedEventToken;
    rtws::event_token m_closedEventToken;

public:
    IAsyncAction OnNavigatedTo(NavigationEventArgs /* e */)
    {
        // In this example, we send/receive a string, so we need to set the MessageType to Utf8.
        m_messageWebSocket.Control().MessageType(Windows::Networking::Sockets::SocketMessageType::Utf8);

        m_messageReceivedEventToken = m_messageWebSocket.MessageReceived({ this, &MessageWebSocketPage::OnWebSocketMessageReceived });
        m_closedEventToken = m_messageWebSocket.Closed({ this, &MessageWebSocketPage::OnWebSocketClosed });

        try
        {
            co_await m_messageWebSocket.ConnectAsync(Uri{ echo_uri });
            SendMessageUsingMessageWebSocketAsync(L"Hello, World!");
        }
        catch (rtws::hresult_error const& ex)
        {
            Windows::Web::WebErrorStatus webErrorStatus{ Windows::Networking::Sockets::WebSocketError::GetStatus(ex.to_abi()) };
            // Add additional code here to handle exceptions.
        }
    }

private:
    IAsyncAction SendMessageUsingMessageWebSocketAsync(std::wstring message)
    {
        DataWriter dataWriter{ m_messageWebSocket.OutputStream() };
        dataWriter.WriteString(message);

        co_await dataWriter.StoreAsync();
        dataWriter.DetachStream();
        std::wstringstream wstringstream;
        wstringstream << L"Sending message using MessageWebSocket: " << message.c_str() << std::endl;
        ::OutputDebugString(wstringstream.str().c_str());
    }

    void OnWebSocketMessageReceived(Windows::Networking::Sockets::MessageWebSocket const& /* sender */, Windows::Networking::Sockets::MessageWebSocketMessageReceivedEventArgs const& args)
    {
        try
        {
            DataReader dataReader{ args.GetDataReader() };

            dataReader.UnicodeEncoding(Windows::Storage::Streams::UnicodeEncoding::Utf8);
            auto message = dataReader.ReadString(dataReader.UnconsumedBufferLength());
            std::wstringstream wstringstream;
            wstringstream << L"Message received from MessageWebSocket: " << message.c_str() << std::endl;
            ::OutputDebugString(wstringstream.str().c_str());
            m_messageWebSocket.Close(1000, L"");
        }
        catch (rtws::hresult_error const& ex)
        {
            Windows::Web::WebErrorStatus webErrorStatus{ Windows::Networking::Sockets::WebSocketError::GetStatus(ex.to_abi()) };
            // Add additional code here to handle exceptions.
        }
    }

    void OnWebSocketClosed(Windows::Networking::Sockets::IWebSocket const& /* sender */, Windows::Networking::Sockets::WebSocketClosedEventArgs const& args)
    {
        std::wstringstream wstringstream;
        wstringstream << L"WebSocket_Closed; Code: " << args.Code() << ", Reason: \"" << args.Reason().c_str() << "\"" << std::endl;
        ::OutputDebugString(wstringstream.str().c_str());
        // Add additional code here to handle the WebSocket being closed.
    }
};

int main(int argc, char** argv)
{
    return run_sample(argc, argv, [](auto wait_for_last_lines) {
        MessageWebSocketPage page;
        page.OnNavigatedTo(NavigationEventArgs{});
        return wait_for_last_lines();
    }, { L"Sending message using MessageWebSocket: Hello, World!", L"WebSocket_Closed" });
}
