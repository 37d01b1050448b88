"""The seed's "Setting timeouts on WebSocket operations" sample, ported to the rtws UWP
layer: ConnectAsync is canceled after 5 s (C#: CancellationTokenSource.CancelAfter) against
a server that never answers the upgrade; the Completed callback sees Canceled.

usage: connect_timeout.py ws://host:port/nohandshake [timeout_ms]
"""
import sys

import rtws


def main(uri, timeout_ms="5000"):
    message_web_socket = rtws.MessageWebSocket()
    outcome = []

    def connect_task_done(op, status):
        if status == rtws.AsyncStatus.COMPLETED:
            print("connected")  # Add additional code here to use the MessageWebSocket.
        else:  # connectTask timed out, or faulted.
            hresult = op.error_code
            web_error_status = rtws.WebSocketError.get_status(hresult)
            print(f"ConnectAsync did not complete: status {int(status)}, HRESULT "
                  f"0x{hresult & 0xFFFFFFFF:08X}, WebErrorStatus {int(web_error_status)} "
                  f"({web_error_status.name})")
        outcome.append(status)

    connect_task = message_web_socket.connect_async(uri)
    connect_task.completed = connect_task_done
    queue = message_web_socket.dispatcher_queue
    # Cancel connectTask after timeout_ms (5 seconds by default).
    if not queue.run_until(lambda: outcome, int(timeout_ms) / 1000):
        connect_task.cancel()
        queue.run_until(lambda: outcome, 5)
    message_web_socket.close()
    return 0 if outcome else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
