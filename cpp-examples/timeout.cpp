/*
 * "Set your own timeout": ConnectAsync canceled by TimeoutAsync (5 s) against a server that
 * never answers the upgrade; the blocked .get() throws, Status() tells.
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
#include <rtws/Windows.UI.Xaml.Navigation.h>
#include <sstream>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::UI::Xaml::Navigation;

struct MessageWebSocketPage
{
private:
    Windows::Networking::Sockets::MessageWebSocket m_messageWebSocket;

    IAsyncAction TimeoutAsync()
    {
        // Return control to the caller, and resume again to complete the async action after the timeout period.
        // 5 seconds, in this example.
        co_await(std::chrono::seconds{ 5 });
    }

public:
    IAsyncAction OnNavigatedTo(NavigationEventArgs /* e */)
    {
        try
        {
            // Return control to the caller, and then immediately resume on a thread pool thread.
            co_await rtws::resume_background();

            auto connectAsyncAction = m_messageWebSocket.ConnectAsync(Uri{ echo_uri });

            TimeoutAsync().Completed([connectAsyncAction](IAsyncAction const& sender, AsyncStatus const)
            {
                // TimeoutAsync completes after the timeout period. After that period, it's safe
                // to cancel the ConnectAsync action even if it has already completed.
                connectAsyncAction.Cancel();
            });

            try
            {
                // Block until the ConnectAsync action completes or is canceled.
                connectAsyncAction.get();
            }
            catch (rtws::hresult_error const& ex)
            {
                std::wstringstream wstringstream;
                wstringstream << L"ConnectAsync threw an exception: " << ex.message().c_str() << std::endl;
                ::OutputDebugString(wstringstream.str().c_str());
            }

            if (connectAsyncAction.Status() == AsyncStatus::Completed)
            {
                // connectTask ran to completion, so we know that the MessageWebSocket is connected.
                // Add additional code here to use the MessageWebSocket.
            }
            else
            {
                // connectTask did not run to completion.
            }
        }
        catch (rtws::hresult_error const& ex)
        {
            Windows::Web::WebErrorStatus webErrorStatus{ Windows::Networking::Sockets::WebSocketError::GetStatus(ex.to_abi()) };
            // Add additional code here to handle exceptions.
        }
    }
};

// main blocks on OnNavigatedTo's IAsyncAction (it returns at its first co_await, which
// moves it to a pool thread), then checks the line the sample printed.
int main(int argc, char** argv)
{
    return run_sample(argc, argv, [](auto wait_for_last_lines) {
        MessageWebSocketPage page;
        page.OnNavigatedTo(NavigationEventArgs{}).get();
        return wait_for_last_lines();
    }, { L"ConnectAsync threw an exception: " });
}
