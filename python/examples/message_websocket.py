"""The seed's MessageWebSocket sample (C#, "Use MessageWebSocket to connect"), ported to the
rtws UWP layer: connect, send "Hello, World!" through a DataWriter, print the echo, close
(with 1000) inside the MessageReceived handler, print the Closed event.

usage: message_websocket.py ws://host:port/echo [ca.pem]   (wss: with the CA to trust)

Where C# has `ContinueWith` and events raised by the system, Python pumps the socket's
DispatcherQueue: every handler below runs inside `run_until`, on this thread.
"""
import sys

import rtws


def main(uri, ca_file=None):
    message_web_socket = rtws.MessageWebSocket()
    # In this example, we send/receive a string, so we need to set the MessageType to Utf8.
    message_web_socket.control.message_type = rtws.SocketMessageType.UTF8
    if ca_file:
        with open(ca_file) as f:
            message_web_socket.control.trusted_root_certificates = f.read()
    finished = []

    def on_message_received(sender, args):
        try:
            with args.get_data_reader() as data_reader:
                data_reader.unicode_encoding = rtws.UnicodeEncoding.UTF8
                message = data_reader.read_string(data_reader.unconsumed_buffer_length)
                print("Message received from MessageWebSocket: " + message)
                sender.close(1000, "")
        except rtws.WebSocketError as ex:
            print(f"receive failed: {ex.status.name}: {ex}")
            finished.append(1)

    def on_closed(sender, args):
        print(f'WebSocket_Closed; Code: {args.code}, Reason: "{args.reason}"')
        finished.append(0)

    def send_message(message):
        data_writer = rtws.DataWriter(message_web_socket.output_stream)
        data_writer.write_string(message)

        def stored(op, status):
            if status == rtws.AsyncStatus.COMPLETED:
                print("Sending message using MessageWebSocket: " + message)
            data_writer.detach_stream()
            data_writer.close()

        data_writer.store_async().completed = stored

    def connected(op, status):
        if status != rtws.AsyncStatus.COMPLETED:
            web_error_status = rtws.WebSocketError.get_status(op.error_code)
            print(f"ConnectAsync failed: {web_error_status.name}")
            finished.append(1)
            return
        if ca_file:
            severity = message_web_socket.information.server_certificate_error_severity
            print(f"Connected over TLS; ServerCertificateErrorSeverity: {severity.name.title()}")
        send_message("Hello, World!")

    message_web_socket.add_message_received(on_message_received)
    message_web_socket.add_closed(on_closed)
    try:
        message_web_socket.connect_async(uri).completed = connected
    except rtws.WebSocketError as ex:
        print(f"ConnectAsync refused: {ex.status.name}: {ex}")
        return 1
    if not message_web_socket.dispatcher_queue.run_until(lambda: finished, 30):
        print("timed out")
        return 1
    return finished[0]


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
