/*
 * "Connect with a MessageWebSocket": OnNavigatedTo only connects (co_await ConnectAsync).
 *
 * The seed's C++/WinRT sample (shared/seed/websockets.md), compiled against rtws's C++
 * projection after the rename winrt -> rtws (#include <rtws/X.h>, namespace rtws). The
 * sample's own text is unchanged but for:
 * - the URL: Uri{ echo_uri } (argv[1], the bundled test server) instead of wss://www.contoso.com/mywebservice;
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
IAsyncAction OnNavigatedTo(NavigationEventArgs /* e */)
{
    Windows::Networking::Sockets::MessageWebSocket webSocket;
    co_await webSocket.ConnectAsync(Uri{ echo_uri });
}
};

// The sample prints nothing: main waits for OnNavigatedTo's IAsyncAction (a coroutine's,
// completed when its body ended) and reports.
int main(int argc, char** argv)
{
    return run_sample(argc, argv, [](auto wait_for_last_lines) {
        MessageWebSocketPage page;
        IAsyncAction navigated = page.OnNavigatedTo(NavigationEventArgs{});
        navigated.get();
        ::OutputDebugString(navigated.Status() == AsyncStatus::Completed ? L"OnNavigatedTo completed: connected\n" : L"OnNavigatedTo failed\n");
        return wait_for_last_lines();
    }, { L"OnNavigatedTo completed: connected" });
}
