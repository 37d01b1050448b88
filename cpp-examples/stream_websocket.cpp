/*
 * StreamWebSocket: ten bytes sent through a DataWriter, the echo loaded through a DataReader
 * (Partial), closed with 1000.
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

struct StreamWebSocketPage
{
private:
    Windows::Networking::Sockets::StreamWebSocket m_streamWebSocket;
    rtws::event_token m_closedEventToken;

public:
    IAsyncAction OnNavigatedTo(NavigationEventArgs /* e */)
    {
        m_closedEventToken = m_streamWebSocket.Closed({ this, &StreamWebSocketPage::OnWebSocketClosed });

        try
        {
            co_await m_streamWebSocket.ConnectAsync(Uri{ echo_uri });
            ReceiveMessageUsingStreamWebSocket();
            SendMessageUsingStreamWebSocket({ 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 });
        }
        catch (rtws::hresult_error const& ex)
        {
            Windows::Web::WebErrorStatus webErrorStatus{ Windows::Networking::Sockets::WebSocketError::GetStatus(ex.to_abi()) };
            // Add additional code here to handle exceptions.
        }
    }

private:
    IAsyncAction SendMessageUsingStreamWebSocket(std::vector< byte > message)
    {
        try
        {
            DataWriter dataWriter{ m_streamWebSocket.OutputStream() };
            dataWriter.WriteBytes(message);

            co_await dataWriter.StoreAsync();
            dataWriter.DetachStream();
            std::wstringstream wstringstream;
            wstringstream << L"Sending data using StreamWebSocket: " << message.size() << L" bytes" << std::endl;
            ::OutputDebugString(wstringstream.str().c_str());
        }
        catch (rtws::hresult_error const& ex)
        {
            Windows::Web::WebErrorStatus webErrorStatus{ Windows::Networking::Sockets::WebSocketError::GetStatus(ex.to_abi()) };
            // Add additional code here to handle exceptions.
        }
    }

    IAsyncAction ReceiveMessageUsingStreamWebSocket()
    {
        try
        {
            DataReader dataReader{ m_streamWebSocket.InputStream() };
            dataReader.InputStreamOptions(InputStreamOptions::Partial);

            unsigned int bytesLoaded = co_await dataReader.LoadAsync(256);
            std::vector< byte > message(bytesLoaded);
            dataReader.ReadBytes(message);
            std::wstringstream wstringstream;
            wstringstream << L"Data received from StreamWebSocket: " << message.size() << " bytes" << std::endl;
            ::OutputDebugString(wstringstream.str().c_str());
            m_streamWebSocket.Close(1000, L"");
        }
        catch (rtws::hresult_error const& ex)
        {
            Windows::Web::WebErrorStatus webErrorStatus{ Windows::Networking::Sockets::WebSocketError::GetStatus(ex.to_abi()) };
            // Add additional code here to handle exceptions.
        }
    }

    void OnWebSocketClosed(Windows::Networking::Sockets::IWebSocket const&, Windows::Networking::Sockets::WebSocketClosedEventArgs const& args)
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
        StreamWebSocketPage page;
        page.OnNavigatedTo(NavigationEventArgs{});
        return wait_for_last_lines();
    }, { L"Sending data using StreamWebSocket: 10 bytes", L"Data received from StreamWebSocket: 10 bytes", L"WebSocket_Closed" });
}
