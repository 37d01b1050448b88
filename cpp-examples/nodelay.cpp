/*
 * StreamWebSocketControl.NoDelay: the seed's statements (Nagle's algorithm turned back on,
 * then ConnectAsync), in a function.
 *
 * The seed's C++/WinRT text (shared/seed/websockets.md) compiled against rtws's C++
 * projection after the rename winrt -> rtws; unchanged but for the URL: Uri{ echo_uri }
 * (argv[1], the bundled test server) instead of wss://echo.websocket.org. The seed shows
 * the statements alone: the function around them and main() are ours.
 */
#include <rtws/Windows.Foundation.h>
#include <rtws/Windows.Networking.Sockets.h>
#include <rtws/Windows.UI.Xaml.Navigation.h>
#include <sstream>

using namespace rtws;
using namespace Windows::Foundation;

bool NoDelaySample()
{
    Windows::Networking::Sockets::StreamWebSocket streamWebSocket;

    // By default, the Nagle algorithm is not used. This overrides that, and causes it to be used.
    streamWebSocket.Control().NoDelay(false);

    auto connectAsyncAction = streamWebSocket.ConnectAsync(Uri{ echo_uri });

    // Not the seed's: wait for the connect and show what it did.
    connectAsyncAction.get();
    std::wstringstream wstringstream;
    wstringstream << L"Connected with NoDelay " << (streamWebSocket.Control().NoDelay() ? L"true" : L"false") << std::endl;
    ::OutputDebugString(wstringstream.str().c_str());
    return connectAsyncAction.Status() == AsyncStatus::Completed;
}

int main(int argc, char** argv)
{
    return run_sample(argc, argv, [](auto wait_for_last_lines) { return NoDelaySample() && wait_for_last_lines(); },
                      { L"Connected with NoDelay false" });
}
