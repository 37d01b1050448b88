"""The seed's StreamWebSocket sample (C#, "Use StreamWebSocket to connect"), ported to the
rtws UWP layer: once connected, send bytes 0x00..0x09 through a DataWriter and receive the
echo through a DataReader (InputStreamOptions.Partial), then close and print Closed.

usage: stream_websocket.py ws://host:port/echo
"""
import sys

import rtws

MESSAGE = bytes(range(10))


def main(uri):
    stream_web_socket = rtws.StreamWebSocket()
    finished = []
    stream_web_socket.add_closed(lambda sender, args: (
        print(f'WebSocket_Closed; Code: {args.code}, Reason: "{args.reason}"'),
        finished.append(0)))

    def receive_message():
        data_reader = rtws.DataReader(stream_web_socket.input_stream)
        data_reader.input_stream_options = rtws.InputStreamOptions.PARTIAL

        def loaded(op, status):
            if status != rtws.AsyncStatus.COMPLETED:
                print(f"LoadAsync failed: {rtws.WebSocketError.get_status(op.error_code).name}")
                finished.append(1)
                return
            if data_reader.unconsumed_buffer_length < len(MESSAGE) and op.get_results():
                data_reader.load_async(256).completed = loaded  # Partial: maybe not all yet
                return
            message = data_reader.read_bytes()
            print(f"Data received from StreamWebSocket: {len(message)} bytes")
            assert message == MESSAGE
            data_reader.detach_stream()
            data_reader.close()
            stream_web_socket.close(1000, "")

        data_reader.load_async(256).completed = loaded

    def send_message(message):
        data_writer = rtws.DataWriter(stream_web_socket.output_stream)
        data_writer.write_bytes(message)

        def stored(op, status):
            if status == rtws.AsyncStatus.COMPLETED:
                print(f"Sending data using StreamWebSocket: {op.get_results()} bytes")
            data_writer.detach_stream()
            data_writer.close()

        data_writer.store_async().completed = stored

    def connected(op, status):
        if status != rtws.AsyncStatus.COMPLETED:
            print(f"ConnectAsync failed: {rtws.WebSocketError.get_status(op.error_code).name}")
            finished.append(1)
            return
        receive_message()
        send_message(MESSAGE)

    stream_web_socket.connect_async(uri).completed = connected
    if not stream_web_socket.dispatcher_queue.run_until(lambda: finished, 30):
        print("timed out")
        return 1
    return finished[0]


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
