// The projection's object model without a connection: construction, copies, moves, nullptr and
// E_POINTER, hstring conversions, hresult_error, WebSocketError, and every property family of
// the Control and Information classes, buffers, credentials and vectors.
#include "cpptest.h"

#include <rtws/Windows.Web.h>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::Networking::Sockets;
using namespace Windows::Storage::Streams;
using namespace std::chrono_literals;

namespace
{
    // The C reference count, read by an AddRef/Release pair.
    template <typename T>
    uint32_t ref_count(T const& object)
    {
        auto* handle = object.abi();
        uint32_t const count = impl::ref_count<typename T::abi_type>::add_ref(handle) - 1;
        impl::ref_count<typename T::abi_type>::release(handle);
        return count;
    }

    void test_construction_copy_move()
    {
        MessageWebSocket ws;  // MessageWebSocket_Create
        CHECK(static_cast<bool>(ws));
        CHECK(ref_count(ws) == 1);
        {
            MessageWebSocket copy = ws;  // shares it
            CHECK(copy == ws);
            CHECK(ref_count(ws) == 2);
            MessageWebSocket assigned{ nullptr };
            assigned = copy;
            CHECK(ref_count(ws) == 3);
        }
        CHECK(ref_count(ws) == 1);

        MessageWebSocket moved = std::move(ws);
        CHECK(!ws);
        CHECK(ref_count(moved) == 1);
        CHECK_THROWS(ws.Control(), E_POINTER);
        CHECK_THROWS(ws.Close(), E_POINTER);
        CHECK_THROWS(ws.MessageReceived([](auto const&, auto const&) {}), E_POINTER);
        moved = nullptr;
        CHECK(!moved);

        StreamWebSocket stream;
        CHECK(stream.Control().NoDelay());
        StreamWebSocket empty{ nullptr };
        CHECK(empty == nullptr);
        CHECK_THROWS(empty.InputStream(), E_POINTER);
        CHECK_THROWS(IAsyncAction{ nullptr }.Status(), E_POINTER);
        CHECK_THROWS(IAsyncOperation<uint32_t>{ nullptr }.get(), E_POINTER);
        CHECK_THROWS(DataReader{ nullptr }.ReadByte(), E_POINTER);
        CHECK_THROWS(DataWriter{ nullptr }.StoreAsync(), E_POINTER);
        CHECK_THROWS(IWebSocket{ nullptr }.Close(), E_POINTER);

        // The message says why.
        try
        {
            empty.Close();
        }
        catch (hresult_error const& e)
        {
            CHECK(!e.message().empty());
        }

        // IWebSocket: both socket classes convert to it; as<> gives the class back.
        StreamWebSocket s2;
        IWebSocket any = s2;
        CHECK(any.as<StreamWebSocket>() == s2);
        CHECK(!any.try_as<MessageWebSocket>());
        CHECK_THROWS(any.as<MessageWebSocket>(), static_cast<hresult>(0x80004002u));
    }

    void test_hstring()
    {
        hstring const text = L"h\u00e9llo \u20ac\U0001D11E";
        CHECK(to_string(text) == "h\xC3\xA9llo \xE2\x82\xAC\xF0\x9D\x84\x9E");
        CHECK(hstring(std::string_view("h\xC3\xA9llo \xE2\x82\xAC\xF0\x9D\x84\x9E")) == text);
        CHECK(std::wstring(text.c_str()) == L"h\u00e9llo \u20ac\U0001D11E");
        CHECK(text.size() == 8);
        CHECK(hstring() == hstring(L""));
        CHECK(hstring(L"a") < hstring(L"b"));
        std::wstring const wide = L"wide";
        CHECK(hstring(wide) == L"wide");
        CHECK(to_hstring("utf8") == L"utf8");

        // A surrogate pair in wchar_t units (text built as UTF-16) is the code point it names.
        wchar_t const pair[] = { 0xD83D, 0xDE00, 0 };
        CHECK(to_string(hstring(pair)) == "\xF0\x9F\x98\x80");
        // Unpaired surrogates and values over U+10FFFF are not text.
        wchar_t const high[] = { L'a', 0xD83D, L'b', 0 };
        wchar_t const low[] = { 0xDE00, 0 };
        wchar_t const big[] = { static_cast<wchar_t>(0x110000), 0 };
        CHECK_THROWS(hstring(high), E_INVALIDARG);
        CHECK_THROWS(hstring(low), E_INVALIDARG);
        CHECK_THROWS(hstring(big), E_INVALIDARG);
        try
        {
            hstring bad(low);
            CHECK(false);
        }
        catch (hresult_invalid_argument const& e)
        {
            CHECK(e.code() == E_INVALIDARG);
        }
        // Bad UTF-8: a lone continuation byte, an overlong form, an encoded surrogate.
        CHECK_THROWS(hstring(std::string_view("\x80")), E_INVALIDARG);
        CHECK_THROWS(hstring(std::string_view("\xC0\xAF")), E_INVALIDARG);
        CHECK_THROWS(hstring(std::string_view("\xED\xA0\x80")), E_INVALIDARG);
        // A NUL inside a string cannot reach C.
        MessageWebSocket ws;
        CHECK_THROWS(ws.SetRequestHeader(hstring(L"X-A\0b", 5), L"v"), E_INVALIDARG);
    }

    void test_errors()
    {
        hresult_error const plain(E_FAIL);
        CHECK(plain.code() == E_FAIL);
        CHECK(plain.to_abi() == E_FAIL);
        CHECK(!plain.message().empty());
        CHECK(hresult_canceled().code() == RTWS_E_CANCELLED);
        CHECK(hresult_out_of_bounds().code() == E_BOUNDS);
        CHECK(hresult_illegal_method_call().code() == E_ILLEGAL_METHOD_CALL);
        CHECK(hresult_illegal_state_change().code() == E_ILLEGAL_STATE_CHANGE);

        // What the C API refuses comes back with its HRESULT and its message.
        MessageWebSocket ws;
        try
        {
            ws.Close(999, L"");
            CHECK(false);
        }
        catch (hresult_invalid_argument const& e)
        {
            CHECK(e.code() == E_INVALIDARG);
            CHECK(!e.message().empty());
            std::printf("Close(999): %s\n", to_string(e.message()).c_str());
        }
        CHECK_THROWS(ws.ConnectAsync(Uri{ L"http://127.0.0.1/" }), E_INVALIDARG);
        CHECK_THROWS(ws.Control().MaxMessageSize(0), E_INVALIDARG);

        CHECK(WebSocketError::GetStatus(WININET_E_CANNOT_CONNECT) == Windows::Web::WebErrorStatus::CannotConnect);
        CHECK(WebSocketError::GetStatus(RTWS_E_CANCELLED) == Windows::Web::WebErrorStatus::OperationCanceled);
        CHECK(WebSocketError::GetStatus(HTTP_E_STATUS_NOT_FOUND) == Windows::Web::WebErrorStatus::NotFound);
    }

    void test_message_control_properties()
    {
        MessageWebSocket ws;
        auto control = ws.Control();
        CHECK(control.MessageType() == SocketMessageType::Binary);
        control.MessageType(SocketMessageType::Utf8);
        CHECK(ws.Control().MessageType() == SocketMessageType::Utf8);
        CHECK(control.MaxMessageSize() == 0xFFFFFFFFu);
        control.MaxMessageSize(1024);
        CHECK(control.MaxMessageSize() == 1024);
        CHECK(control.ReceiveMode() == MessageWebSocketReceiveMode::FullMessage);
        control.ReceiveMode(MessageWebSocketReceiveMode::PartialMessage);
        CHECK(control.ReceiveMode() == MessageWebSocketReceiveMode::PartialMessage);
        control.OutboundBufferSizeInBytes(65536);
        CHECK(control.OutboundBufferSizeInBytes() == 65536);

        CHECK(control.DesiredUnsolicitedPongInterval() == TimeSpan::zero());
        control.DesiredUnsolicitedPongInterval(std::chrono::seconds(2));
        CHECK(control.DesiredUnsolicitedPongInterval() == std::chrono::seconds(2));
        CHECK(control.ActualUnsolicitedPongInterval() == TimeSpan::zero());
        CHECK(control.ConnectTimeout() == std::chrono::seconds(60));
        control.ConnectTimeout(5s);
        CHECK(control.ConnectTimeout() == 5s);
        CHECK(control.SendTimeout() == 30s);
        control.SendTimeout(7s);
        CHECK(control.SendTimeout() == 7s);
        CHECK(control.ReceiveTimeout() == 30s);
        control.ReceiveTimeout(9s);
        CHECK(control.ReceiveTimeout() == 9s);

        auto protocols = control.SupportedProtocols();
        CHECK(protocols.Size() == 0);
        protocols.Append(L"chat");
        protocols.Append(L"superchat");
        CHECK(control.SupportedProtocols().Size() == 2);
        CHECK(protocols.GetAt(1) == L"superchat");
        CHECK_THROWS(protocols.GetAt(2), E_BOUNDS);
        CHECK_THROWS(protocols.Append(L"not a token"), E_INVALIDARG);
        protocols.RemoveAt(0);
        CHECK(protocols.GetAt(0) == L"superchat");
        protocols.Clear();
        CHECK(protocols.Size() == 0);

        using Windows::Security::Credentials::PasswordCredential;
        CHECK(!control.ServerCredential());
        PasswordCredential credential{ L"r\u00e9source", L"user", L"pw" };
        CHECK(credential.Resource() == L"r\u00e9source");
        CHECK(credential.UserName() == L"user");
        CHECK(credential.Password() == L"pw");
        control.ServerCredential(credential);
        CHECK(control.ServerCredential().UserName() == L"user");
        control.ServerCredential(nullptr);
        CHECK(!control.ServerCredential());
        control.ProxyCredential(credential);
        CHECK(control.ProxyCredential().Password() == L"pw");
        control.ProxyUri(Uri{ L"http://127.0.0.1:3128/" });
        CHECK_THROWS(control.ProxyUri(Uri{ L"ftp://x/" }), E_INVALIDARG);

        using Windows::Security::Cryptography::Certificates::ChainValidationResult;
        auto ignorable = control.IgnorableServerCertificateErrors();
        ignorable.Append(ChainValidationResult::Expired);
        uint32_t index = 99;
        CHECK(control.IgnorableServerCertificateErrors().IndexOf(ChainValidationResult::Expired, index));
        CHECK(index == 0);
        CHECK(!ignorable.IndexOf(ChainValidationResult::Untrusted, index));
        CHECK(ignorable.GetAt(0) == ChainValidationResult::Expired);
        CHECK_THROWS(ignorable.Append(ChainValidationResult::Success), E_INVALIDARG);
        ignorable.RemoveAt(0);
        CHECK(ignorable.Size() == 0);
        CHECK_THROWS(control.TrustedRootCertificates(L"not a certificate"), E_INVALIDARG);
        CHECK(!control.ClientCertificate());
        control.ClientCertificate(nullptr);

        // rtws extension: permessage-deflate (the C test c_deflate drives it on the wire).
        PerMessageDeflateOptions deflate = control.PerMessageDeflate();
        CHECK(!deflate.Enabled && deflate.ClientMaxWindowBits == 15 && deflate.CompressionLevel == 1);
        control.PerMessageDeflate({ true, true, false, 10, 12, 0 });
        deflate = ws.Control().PerMessageDeflate();
        CHECK(deflate.Enabled && deflate.ClientNoContextTakeover && !deflate.ServerNoContextTakeover);
        CHECK(deflate.ClientMaxWindowBits == 10 && deflate.ServerMaxWindowBits == 12 && deflate.CompressionLevel == 1);
        CHECK_THROWS(control.PerMessageDeflate({ true, false, false, 7, 15, 0 }), E_INVALIDARG);
        CHECK(!ws.Information().PerMessageDeflate().Enabled);
    }

    void test_stream_control_and_information()
    {
        StreamWebSocket ws;
        auto control = ws.Control();
        CHECK(control.NoDelay());
        control.NoDelay(false);
        CHECK(!ws.Control().NoDelay());
        control.OutboundBufferSizeInBytes(4096);
        CHECK(control.OutboundBufferSizeInBytes() == 4096);
        control.SupportedProtocols().Append(L"echo");
        CHECK(control.SupportedProtocols().GetAt(0) == L"echo");

        // Before a connect: empty and zero.
        auto information = ws.Information();
        CHECK(information.Protocol().empty());
        CHECK(information.LocalAddress().empty());
        BandwidthStatistics const statistics = information.BandwidthStatistics();
        CHECK(statistics.OutboundBitsPerSecond == 0 && statistics.InboundBitsPerSecond == 0);
        CHECK(information.ServerCertificateErrorSeverity() == SocketSslErrorSeverity::None);
        CHECK(!information.ServerCertificate());
        CHECK(information.ServerCertificateErrors().Size() == 0);
        CHECK(information.ServerIntermediateCertificates().Size() == 0);
        MessageWebSocket message;
        CHECK(message.Information().Protocol().empty());
        CHECK(!message.DispatcherQueue());
    }

    void test_buffers_and_writer()
    {
        Buffer buffer{ 16 };
        CHECK(buffer.Capacity() == 16);
        CHECK(buffer.Length() == 0);
        buffer.Length(4);
        CHECK(buffer.Length() == 4);
        CHECK_THROWS(buffer.Length(17), E_INVALIDARG);

        std::vector<byte> const bytes{ 1, 2, 3, 4, 5 };
        IBuffer copy = Buffer::CreateFromBytes(bytes);
        CHECK(copy.Length() == 5);
        std::vector<byte> out(3);
        CHECK(copy.CopyTo(2, out) == 3);
        CHECK(out == (std::vector<byte>{ 3, 4, 5 }));

        DataWriter writer;
        CHECK(writer.UnicodeEncoding() == UnicodeEncoding::Utf8);
        CHECK(writer.ByteOrder() == ByteOrder::BigEndian);
        writer.WriteBytes(bytes);
        writer.WriteBytes({ 6, 7 });
        byte const raw[] = { 8, 9 };
        writer.WriteBytes(raw);
        writer.WriteInt32(-1);
        CHECK(writer.UnstoredBufferLength() == 13);
        CHECK(writer.MeasureString(L"\u20ac") == 3);
        writer.UnicodeEncoding(UnicodeEncoding::Utf16LE);
        CHECK(writer.WriteString(std::wstring(L"ab")) == 4);  // bytes, as UWP counts them
        CHECK(writer.UnstoredBufferLength() == 17);
        // No stream: nothing to store into.
        CHECK_THROWS(writer.StoreAsync(), E_ILLEGAL_METHOD_CALL);
        writer.Close();
        CHECK_THROWS(writer.WriteByte(1), RO_E_CLOSED);
    }

    void test_datetime_and_timespan()
    {
        TimeSpan const span = std::chrono::milliseconds(1500);
        CHECK(span.count() == 15'000'000);
        DateTime const now = clock::now();
        auto const back = clock::to_sys(now);
        CHECK(std::chrono::abs(back - std::chrono::system_clock::now()) < 5s);
        // 1970-01-01 is 11644473600 s after 1601-01-01.
        CHECK(clock::from_sys(std::chrono::system_clock::time_point{}).time_since_epoch() == 11'644'473'600s);
    }
}

int main(int argc, char** argv)
{
    return cpptest::run(argc, argv,
                        { TEST(test_construction_copy_move), TEST(test_hstring), TEST(test_errors), TEST(test_message_control_properties),
                          TEST(test_stream_control_and_information), TEST(test_buffers_and_writer), TEST(test_datetime_and_timespan) });
}
