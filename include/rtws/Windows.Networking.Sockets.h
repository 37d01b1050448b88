/*
 * rtws C++20 projection: Windows.Networking.Sockets (MessageWebSocket, StreamWebSocket,
 * their Control and Information classes, event arguments, IWebSocket, WebSocketError).
 *
 * `MessageWebSocket ws;` creates a socket; copies share it; the last copy's destruction
 * closes it (an empty close frame), unregisters its handlers and waits for one of them that
 * runs on another thread (not from inside its own handler, which may drop its socket).
 *
 * Events: ws.MessageReceived(handler) returns an event_token, ws.MessageReceived(token)
 * removes it (once that returns the handler is not called again), and
 * ws.MessageReceived(auto_revoke, handler) returns an event_revoker that removes it when
 * destroyed and does nothing if the socket is already gone. Handlers run on an rtws I/O
 * thread, one at a time per socket, in wire order (on the DispatcherQueue's thread for a
 * socket bound to one); the `sender` and `args` they get are lent for the call (no
 * reference is taken per event): a copy the handler keeps takes its own, and stays valid
 * after it returns. An exception a handler throws is written to
 * rtws's log (Error, target "rtws::cpp") with the event's name, and the event goes on.
 */
#ifndef RTWS_CPP_WINDOWS_NETWORKING_SOCKETS_H
#define RTWS_CPP_WINDOWS_NETWORKING_SOCKETS_H

#include <rtws/Windows.Foundation.h>
#include <rtws/Windows.Security.Credentials.h>
#include <rtws/Windows.Security.Cryptography.Certificates.h>
#include <rtws/Windows.Storage.Streams.h>
#include <rtws/Windows.System.h>
#include <rtws/Windows.Web.h>

namespace rtws::impl
{
    RTWS_IMPL_REF_COUNT(MessageWebSocket)
    RTWS_IMPL_REF_COUNT(MessageWebSocketControl)
    RTWS_IMPL_REF_COUNT(MessageWebSocketInformation)
    RTWS_IMPL_REF_COUNT(MessageWebSocketMessageReceivedEventArgs)
    RTWS_IMPL_REF_COUNT(StreamWebSocket)
    RTWS_IMPL_REF_COUNT(StreamWebSocketControl)
    RTWS_IMPL_REF_COUNT(StreamWebSocketInformation)
    RTWS_IMPL_REF_COUNT(WebSocketClosedEventArgs)
    RTWS_IMPL_REF_COUNT(WebSocketServerCustomValidationRequestedEventArgs)

    // The C functions both Control classes share, by prefix.
    template <typename Abi>
    struct control_abi;
#define RTWS_IMPL_CONTROL_ABI(Prefix)                                                                         \
    template <>                                                                                               \
    struct control_abi<abi::Prefix>                                                                              \
    {                                                                                                         \
        static constexpr auto get_OutboundBufferSizeInBytes = &abi::Prefix##_get_OutboundBufferSizeInBytes;      \
        static constexpr auto put_OutboundBufferSizeInBytes = &abi::Prefix##_put_OutboundBufferSizeInBytes;      \
        static constexpr auto get_SupportedProtocols = &abi::Prefix##_get_SupportedProtocols;                    \
        static constexpr auto get_DesiredUnsolicitedPongInterval = &abi::Prefix##_get_DesiredUnsolicitedPongInterval; \
        static constexpr auto put_DesiredUnsolicitedPongInterval = &abi::Prefix##_put_DesiredUnsolicitedPongInterval; \
        static constexpr auto get_ActualUnsolicitedPongInterval = &abi::Prefix##_get_ActualUnsolicitedPongInterval; \
        static constexpr auto get_ConnectTimeout = &abi::Prefix##_get_ConnectTimeout;                            \
        static constexpr auto put_ConnectTimeout = &abi::Prefix##_put_ConnectTimeout;                            \
        static constexpr auto get_SendTimeout = &abi::Prefix##_get_SendTimeout;                                  \
        static constexpr auto put_SendTimeout = &abi::Prefix##_put_SendTimeout;                                  \
        static constexpr auto get_ReceiveTimeout = &abi::Prefix##_get_ReceiveTimeout;                            \
        static constexpr auto put_ReceiveTimeout = &abi::Prefix##_put_ReceiveTimeout;                            \
        static constexpr auto get_ServerCredential = &abi::Prefix##_get_ServerCredential;                        \
        static constexpr auto put_ServerCredential = &abi::Prefix##_put_ServerCredential;                        \
        static constexpr auto get_ProxyCredential = &abi::Prefix##_get_ProxyCredential;                          \
        static constexpr auto put_ProxyCredential = &abi::Prefix##_put_ProxyCredential;                          \
        static constexpr auto put_ProxyUri = &abi::Prefix##_put_ProxyUri;                                        \
        static constexpr auto get_IgnorableServerCertificateErrors = &abi::Prefix##_get_IgnorableServerCertificateErrors; \
        static constexpr auto put_TrustedRootCertificates = &abi::Prefix##_put_TrustedRootCertificates;          \
        static constexpr auto get_ClientCertificate = &abi::Prefix##_get_ClientCertificate;                      \
        static constexpr auto put_ClientCertificate = &abi::Prefix##_put_ClientCertificate;                      \
        static constexpr auto get_PerMessageDeflate = &abi::Prefix##_get_PerMessageDeflate;                      \
        static constexpr auto put_PerMessageDeflate = &abi::Prefix##_put_PerMessageDeflate;                      \
    };
    RTWS_IMPL_CONTROL_ABI(MessageWebSocketControl)
    RTWS_IMPL_CONTROL_ABI(StreamWebSocketControl)

    // The C functions of the Information classes (identical members), by prefix.
    template <typename Abi>
    struct information_abi;
#define RTWS_IMPL_INFORMATION_ABI(Prefix)                                                                     \
    template <>                                                                                               \
    struct information_abi<abi::Prefix>                                                                          \
    {                                                                                                         \
        static constexpr auto get_Protocol = &abi::Prefix##_get_Protocol;                                        \
        static constexpr auto get_LocalAddress = &abi::Prefix##_get_LocalAddress;                                \
        static constexpr auto get_BandwidthStatistics = &abi::Prefix##_get_BandwidthStatistics;                  \
        static constexpr auto get_ServerCertificateErrorSeverity = &abi::Prefix##_get_ServerCertificateErrorSeverity; \
        static constexpr auto get_ServerCertificateErrors = &abi::Prefix##_get_ServerCertificateErrors;          \
        static constexpr auto get_ServerCertificate = &abi::Prefix##_get_ServerCertificate;                      \
        static constexpr auto get_ServerIntermediateCertificates = &abi::Prefix##_get_ServerIntermediateCertificates; \
        static constexpr auto get_PerMessageDeflate = &abi::Prefix##_get_PerMessageDeflate;                      \
    };
    RTWS_IMPL_INFORMATION_ABI(MessageWebSocketInformation)
    RTWS_IMPL_INFORMATION_ABI(StreamWebSocketInformation)

    // The C functions both socket classes share, by prefix.
    template <typename Abi>
    struct socket_abi;
#define RTWS_IMPL_SOCKET_ABI(Prefix)                                                                          \
    template <>                                                                                               \
    struct socket_abi<abi::Prefix>                                                                               \
    {                                                                                                         \
        static constexpr auto create = &abi::Prefix##_Create;                                                    \
        static constexpr auto get_Control = &abi::Prefix##_get_Control;                                          \
        static constexpr auto get_Information = &abi::Prefix##_get_Information;                                  \
        static constexpr auto get_OutputStream = &abi::Prefix##_get_OutputStream;                                \
        static constexpr auto ConnectAsync = &abi::Prefix##_ConnectAsync;                                        \
        static constexpr auto SetRequestHeader = &abi::Prefix##_SetRequestHeader;                                \
        static constexpr auto Close = &abi::Prefix##_Close;                                                      \
        static constexpr auto CloseWithStatus = &abi::Prefix##_CloseWithStatus;                                  \
        static constexpr auto add_Closed = &abi::Prefix##_add_ClosedEx;                                          \
        static constexpr auto remove_Closed = &abi::Prefix##_remove_Closed;                                      \
        static constexpr auto add_ServerCustomValidationRequested = &abi::Prefix##_add_ServerCustomValidationRequestedEx; \
        static constexpr auto remove_ServerCustomValidationRequested = &abi::Prefix##_remove_ServerCustomValidationRequested; \
        static constexpr auto get_DispatcherQueue = &abi::Prefix##_get_DispatcherQueue;                          \
        static constexpr auto put_DispatcherQueue = &abi::Prefix##_put_DispatcherQueue;                          \
    };
    RTWS_IMPL_SOCKET_ABI(MessageWebSocket)
    RTWS_IMPL_SOCKET_ABI(StreamWebSocket)

    // An event of a socket: registers a TypedEventHandler<Sender, Args> through the C
    // add_XEx function (the library frees the handler when the registration ends) behind a
    // noexcept trampoline, and makes the token and revoker forms of it.
    template <typename Socket, typename Sender, typename Args>
    struct socket_event
    {
        using handler_type = delegate<Sender const&, Args const&>;
        using box = handler_box<handler_type>;
        using abi_socket = typename Socket::abi_type;

        static void invoke(void* context, abi_socket* sender, typename Args::abi_type* args) noexcept
        {
            auto* self = static_cast<box*>(context);
            try
            {
                if constexpr (std::is_same_v<Sender, Socket>)
                {
                    self->handler(borrowed<Socket>(sender).get(), borrowed<Args>(args).get());
                }
                else  // IWebSocket, which holds a reference of its own
                {
                    self->handler(Sender(borrowed<Socket>(sender).get()), borrowed<Args>(args).get());
                }
            }
            catch (...)
            {
                report_handler_exception(self->event);
            }
        }

        template <typename Add>
        static event_token add(Add add_ex, abi_socket* socket, handler_type const& handler, char const* event,
                               std::shared_ptr<std::atomic<bool>> alive = nullptr)
        {
            auto* context = new box{ handler, event, std::move(alive) };
            abi::EventRegistrationToken token{};
            hresult const code = add_ex(socket, &invoke, context, &box::release, &token);
            if (code < 0)
            {
                delete context;  // a failed ...Ex registration does not call release
                check(code);
            }
            return event_token{ token.value };
        }

        template <typename Remove>
        static void remove(Remove remove_fn, abi_socket* socket, event_token token)
        {
            check(remove_fn(socket, abi::EventRegistrationToken{ token.value }));
        }

        // The revoker holds no reference on the socket (it must not keep it open): it learns
        // from the registration's release that it ended, and otherwise checks that the handle
        // is still live before removing (AddRef returns 0 for a released one: rtws's handles
        // carry a generation, so a stale one never names a newer socket).
        template <typename Add, typename Remove>
        static event_revoker add_revoker(Add add_ex, Remove remove_fn, abi_socket* socket, handler_type const& handler,
                                         char const* event)
        {
            auto alive = std::make_shared<std::atomic<bool>>(true);
            event_token const token = add(add_ex, socket, handler, event, alive);
            return event_revoker(
                [socket, token, remove_fn] {
                    if (ref_count<abi_socket>::add_ref(socket) != 0)
                    {
                        remove_fn(socket, abi::EventRegistrationToken{ token.value });  // a revoker cannot throw
                        ref_count<abi_socket>::release(socket);
                    }
                },
                std::move(alive));
        }
    };
}

namespace rtws::Windows::Networking::Sockets
{
    enum class SocketMessageType : int32_t
    {
        Binary = abi::SocketMessageType_Binary,
        Utf8 = abi::SocketMessageType_Utf8,
    };

    enum class MessageWebSocketReceiveMode : int32_t
    {
        FullMessage = abi::MessageWebSocketReceiveMode_FullMessage,
        PartialMessage = abi::MessageWebSocketReceiveMode_PartialMessage,
    };

    enum class SocketSslErrorSeverity : int32_t
    {
        None = abi::SocketSslErrorSeverity_None,
        Ignorable = abi::SocketSslErrorSeverity_Ignorable,
        Fatal = abi::SocketSslErrorSeverity_Fatal,
    };

    struct BandwidthStatistics
    {
        uint64_t OutboundBitsPerSecond;
        uint64_t InboundBitsPerSecond;
        uint64_t OutboundBitsPerSecondInstability;
        uint64_t InboundBitsPerSecondInstability;
        bool OutboundBandwidthPeaked;
        bool InboundBandwidthPeaked;
    };

    // rtws extension: permessage-deflate (RFC 7692), as Control offers it and Information
    // reports what was agreed (the C struct PerMessageDeflateOptions, member for member:
    // window bits 8..15, CompressionLevel 1..9 or 0 for rtws's default).
    struct PerMessageDeflateOptions
    {
        bool Enabled{};
        bool ClientNoContextTakeover{};
        bool ServerNoContextTakeover{};
        uint8_t ClientMaxWindowBits{ 15 };
        uint8_t ServerMaxWindowBits{ 15 };
        uint8_t CompressionLevel{};
    };

}

namespace rtws::impl
{
    inline Windows::Networking::Sockets::PerMessageDeflateOptions deflate_from_abi(abi::PerMessageDeflateOptions const& o) noexcept
    {
        return { o.Enabled, o.ClientNoContextTakeover, o.ServerNoContextTakeover, o.ClientMaxWindowBits,
                 o.ServerMaxWindowBits, o.CompressionLevel };
    }
}

namespace rtws::Windows::Networking::Sockets
{

    struct WebSocketError
    {
        static Web::WebErrorStatus GetStatus(hresult hresult) noexcept
        {
            return static_cast<Web::WebErrorStatus>(abi::WebSocketError_GetStatus(hresult));
        }
    };

    namespace Certificates = Security::Cryptography::Certificates;

    // The members both Control classes share.
    template <typename Abi>
    struct WebSocketControlBase : impl::object<Abi>
    {
        using impl::object<Abi>::object;
        using fn = impl::control_abi<Abi>;

        uint32_t OutboundBufferSizeInBytes() const { return impl::get_value<uint32_t>(fn::get_OutboundBufferSizeInBytes, this->abi()); }
        void OutboundBufferSizeInBytes(uint32_t value) const { impl::check(fn::put_OutboundBufferSizeInBytes(this->abi(), value)); }
        Foundation::Collections::IVector<hstring> SupportedProtocols() const
        {
            return impl::get_object<Foundation::Collections::IVector<hstring>>(fn::get_SupportedProtocols, this->abi());
        }
        // rtws extension: the permessage-deflate offer (before ConnectAsync).
        Sockets::PerMessageDeflateOptions PerMessageDeflate() const
        {
            return impl::deflate_from_abi(impl::get_value<abi::PerMessageDeflateOptions>(fn::get_PerMessageDeflate, this->abi()));
        }
        void PerMessageDeflate(Sockets::PerMessageDeflateOptions const& v) const
        {
            abi::PerMessageDeflateOptions const o{ v.Enabled, v.ClientNoContextTakeover, v.ServerNoContextTakeover,
                                                   v.ClientMaxWindowBits, v.ServerMaxWindowBits, v.CompressionLevel };
            impl::check(fn::put_PerMessageDeflate(this->abi(), o));
        }
        Foundation::TimeSpan DesiredUnsolicitedPongInterval() const { return span(fn::get_DesiredUnsolicitedPongInterval); }
        void DesiredUnsolicitedPongInterval(Foundation::TimeSpan value) const { span(fn::put_DesiredUnsolicitedPongInterval, value); }
        Foundation::TimeSpan ActualUnsolicitedPongInterval() const { return span(fn::get_ActualUnsolicitedPongInterval); }
        // rtws extensions: the connect, send and receive timeouts.
        Foundation::TimeSpan ConnectTimeout() const { return span(fn::get_ConnectTimeout); }
        void ConnectTimeout(Foundation::TimeSpan value) const { span(fn::put_ConnectTimeout, value); }
        Foundation::TimeSpan SendTimeout() const { return span(fn::get_SendTimeout); }
        void SendTimeout(Foundation::TimeSpan value) const { span(fn::put_SendTimeout, value); }
        Foundation::TimeSpan ReceiveTimeout() const { return span(fn::get_ReceiveTimeout); }
        void ReceiveTimeout(Foundation::TimeSpan value) const { span(fn::put_ReceiveTimeout, value); }
        // nullptr when none is set.
        Security::Credentials::PasswordCredential ServerCredential() const
        {
            return impl::get_object<Security::Credentials::PasswordCredential>(fn::get_ServerCredential, this->abi());
        }
        void ServerCredential(Security::Credentials::PasswordCredential const& value) const
        {
            impl::check(fn::put_ServerCredential(this->abi(), value ? value.abi() : nullptr));
        }
        Security::Credentials::PasswordCredential ProxyCredential() const
        {
            return impl::get_object<Security::Credentials::PasswordCredential>(fn::get_ProxyCredential, this->abi());
        }
        void ProxyCredential(Security::Credentials::PasswordCredential const& value) const
        {
            impl::check(fn::put_ProxyCredential(this->abi(), value ? value.abi() : nullptr));
        }
        // rtws extension: the HTTP proxy (default: from the environment).
        void ProxyUri(Foundation::Uri const& value) const { impl::check(fn::put_ProxyUri(this->abi(), impl::c_str(value.AbsoluteUri()))); }
        Foundation::Collections::IVector<Certificates::ChainValidationResult> IgnorableServerCertificateErrors() const
        {
            return impl::get_object<Foundation::Collections::IVector<Certificates::ChainValidationResult>>(
                fn::get_IgnorableServerCertificateErrors, this->abi());
        }
        // rtws extension: PEM roots that wss: connects trust besides the system's.
        void TrustedRootCertificates(hstring const& pem) const { impl::check(fn::put_TrustedRootCertificates(this->abi(), impl::c_str(pem))); }
        Certificates::Certificate ClientCertificate() const
        {
            return impl::get_object<Certificates::Certificate>(fn::get_ClientCertificate, this->abi());
        }
        void ClientCertificate(Certificates::Certificate const& value) const
        {
            impl::check(fn::put_ClientCertificate(this->abi(), value ? value.abi() : nullptr));
        }

    private:
        template <typename F>
        Foundation::TimeSpan span(F getter) const
        {
            return Foundation::TimeSpan{ impl::get_value<abi::TimeSpan>(getter, this->abi()).Duration };
        }
        template <typename F>
        void span(F setter, Foundation::TimeSpan value) const
        {
            impl::check(setter(this->abi(), abi::TimeSpan{ value.count() }));
        }
    };

    struct MessageWebSocketControl : WebSocketControlBase<abi::MessageWebSocketControl>
    {
        using WebSocketControlBase::WebSocketControlBase;
        SocketMessageType MessageType() const
        {
            return impl::get_value<SocketMessageType, abi::SocketMessageType>(abi::MessageWebSocketControl_get_MessageType, abi());
        }
        void MessageType(SocketMessageType value) const
        {
            impl::check(abi::MessageWebSocketControl_put_MessageType(abi(), static_cast<int32_t>(value)));
        }
        uint32_t MaxMessageSize() const { return impl::get_value<uint32_t>(abi::MessageWebSocketControl_get_MaxMessageSize, abi()); }
        void MaxMessageSize(uint32_t value) const { impl::check(abi::MessageWebSocketControl_put_MaxMessageSize(abi(), value)); }
        MessageWebSocketReceiveMode ReceiveMode() const
        {
            return impl::get_value<MessageWebSocketReceiveMode, abi::MessageWebSocketReceiveMode>(abi::MessageWebSocketControl_get_ReceiveMode,
                                                                                                abi());
        }
        void ReceiveMode(MessageWebSocketReceiveMode value) const
        {
            impl::check(abi::MessageWebSocketControl_put_ReceiveMode(abi(), static_cast<int32_t>(value)));
        }
    };

    struct StreamWebSocketControl : WebSocketControlBase<abi::StreamWebSocketControl>
    {
        using WebSocketControlBase::WebSocketControlBase;
        bool NoDelay() const { return impl::get_value<bool>(abi::StreamWebSocketControl_get_NoDelay, abi()); }
        void NoDelay(bool value) const { impl::check(abi::StreamWebSocketControl_put_NoDelay(abi(), value)); }
    };

    // The Information classes (identical members).
    template <typename Abi>
    struct WebSocketInformationBase : impl::object<Abi>
    {
        using impl::object<Abi>::object;
        using fn = impl::information_abi<Abi>;

        hstring Protocol() const { return impl::get_string(fn::get_Protocol, this->abi()); }
        // The local IP address ("127.0.0.1"); WinRT's is a HostName.
        hstring LocalAddress() const { return impl::get_string(fn::get_LocalAddress, this->abi()); }
        Sockets::BandwidthStatistics BandwidthStatistics() const
        {
            auto const s = impl::get_value<abi::BandwidthStatistics>(fn::get_BandwidthStatistics, this->abi());
            return { s.OutboundBitsPerSecond, s.InboundBitsPerSecond, s.OutboundBitsPerSecondInstability,
                     s.InboundBitsPerSecondInstability, s.OutboundBandwidthPeaked, s.InboundBandwidthPeaked };
        }
        // rtws extension: what permessage-deflate the connect agreed (Enabled false: none).
        Sockets::PerMessageDeflateOptions PerMessageDeflate() const
        {
            return impl::deflate_from_abi(impl::get_value<abi::PerMessageDeflateOptions>(fn::get_PerMessageDeflate, this->abi()));
        }
        SocketSslErrorSeverity ServerCertificateErrorSeverity() const
        {
            return impl::get_value<SocketSslErrorSeverity, abi::SocketSslErrorSeverity>(fn::get_ServerCertificateErrorSeverity, this->abi());
        }
        Foundation::Collections::IVector<Certificates::ChainValidationResult> ServerCertificateErrors() const
        {
            return impl::get_object<Foundation::Collections::IVector<Certificates::ChainValidationResult>>(
                fn::get_ServerCertificateErrors, this->abi());
        }
        Certificates::Certificate ServerCertificate() const
        {
            return impl::get_object<Certificates::Certificate>(fn::get_ServerCertificate, this->abi());
        }
        Foundation::Collections::IVectorView<Certificates::Certificate> ServerIntermediateCertificates() const
        {
            return impl::get_object<Foundation::Collections::IVectorView<Certificates::Certificate>>(
                fn::get_ServerIntermediateCertificates, this->abi());
        }
    };

    struct MessageWebSocketInformation : WebSocketInformationBase<abi::MessageWebSocketInformation>
    {
        using WebSocketInformationBase::WebSocketInformationBase;
    };

    struct StreamWebSocketInformation : WebSocketInformationBase<abi::StreamWebSocketInformation>
    {
        using WebSocketInformationBase::WebSocketInformationBase;
    };

    struct WebSocketClosedEventArgs : impl::object<abi::WebSocketClosedEventArgs>
    {
        using object::object;
        uint16_t Code() const { return impl::get_value<uint16_t>(abi::WebSocketClosedEventArgs_get_Code, abi()); }
        hstring Reason() const { return impl::get_string(abi::WebSocketClosedEventArgs_get_Reason, abi()); }
    };

    struct MessageWebSocketMessageReceivedEventArgs : impl::object<abi::MessageWebSocketMessageReceivedEventArgs>
    {
        using object::object;
        SocketMessageType MessageType() const
        {
            return impl::get_value<SocketMessageType, abi::SocketMessageType>(abi::MessageWebSocketMessageReceivedEventArgs_get_MessageType,
                                                                            abi());
        }
        bool IsMessageComplete() const
        {
            return impl::get_value<bool>(abi::MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete, abi());
        }
        // The message, loaded; a failed connection's last MessageReceived throws its HRESULT here.
        Storage::Streams::DataReader GetDataReader() const
        {
            return impl::get_object<Storage::Streams::DataReader>(abi::MessageWebSocketMessageReceivedEventArgs_GetDataReader, abi());
        }
        Storage::Streams::IInputStream GetDataStream() const
        {
            return impl::get_object<Storage::Streams::IInputStream>(abi::MessageWebSocketMessageReceivedEventArgs_GetDataStream, abi());
        }
    };

    struct WebSocketServerCustomValidationRequestedEventArgs : impl::object<abi::WebSocketServerCustomValidationRequestedEventArgs>
    {
        using object::object;
        Certificates::Certificate ServerCertificate() const
        {
            return impl::get_object<Certificates::Certificate>(abi::WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate,
                                                               abi());
        }
        SocketSslErrorSeverity ServerCertificateErrorSeverity() const
        {
            return impl::get_value<SocketSslErrorSeverity, abi::SocketSslErrorSeverity>(
                abi::WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity, abi());
        }
        Foundation::Collections::IVector<Certificates::ChainValidationResult> ServerCertificateErrors() const
        {
            return impl::get_object<Foundation::Collections::IVector<Certificates::ChainValidationResult>>(
                abi::WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors, abi());
        }
        Foundation::Collections::IVectorView<Certificates::Certificate> ServerIntermediateCertificates() const
        {
            return impl::get_object<Foundation::Collections::IVectorView<Certificates::Certificate>>(
                abi::WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates, abi());
        }
        void Reject() const { impl::check(abi::WebSocketServerCustomValidationRequestedEventArgs_Reject(abi())); }
        Foundation::Deferral GetDeferral() const
        {
            return impl::get_object<Foundation::Deferral>(abi::WebSocketServerCustomValidationRequestedEventArgs_GetDeferral, abi());
        }
    };

    struct IWebSocket;

    // The members both socket classes share. Self: the class (CRTP); Control, Information:
    // its Control and Information classes.
    template <typename Self, typename Abi, typename ControlT, typename InformationT>
    struct WebSocketBase : impl::object<Abi>
    {
        using impl::object<Abi>::object;
        using fn = impl::socket_abi<Abi>;
        using ClosedHandler = Foundation::TypedEventHandler<IWebSocket, WebSocketClosedEventArgs>;
        using ServerCustomValidationRequestedHandler =
            Foundation::TypedEventHandler<Self, WebSocketServerCustomValidationRequestedEventArgs>;

        ControlT Control() const { return impl::get_object<ControlT>(fn::get_Control, this->abi()); }
        InformationT Information() const { return impl::get_object<InformationT>(fn::get_Information, this->abi()); }
        Storage::Streams::IOutputStream OutputStream() const
        {
            return impl::get_object<Storage::Streams::IOutputStream>(fn::get_OutputStream, this->abi());
        }
        Foundation::IAsyncAction ConnectAsync(Foundation::Uri const& uri) const
        {
            return impl::get_object<Foundation::IAsyncAction>(fn::ConnectAsync, this->abi(), impl::c_str(uri.AbsoluteUri()));
        }
        void SetRequestHeader(hstring const& headerName, hstring const& headerValue) const
        {
            impl::check(fn::SetRequestHeader(this->abi(), impl::c_str(headerName), impl::c_str(headerValue)));
        }
        void Close() const { impl::check(fn::Close(this->abi())); }
        void Close(uint16_t code, hstring const& reason) const { impl::check(fn::CloseWithStatus(this->abi(), code, impl::c_str(reason))); }

        event_token Closed(ClosedHandler const& handler) const
        {
            return closed::add(fn::add_Closed, this->abi(), handler, "Closed");
        }
        void Closed(event_token token) const { closed::remove(fn::remove_Closed, this->abi(), token); }
        event_revoker Closed(auto_revoke_t, ClosedHandler const& handler) const
        {
            return closed::add_revoker(fn::add_Closed, fn::remove_Closed, this->abi(), handler, "Closed");
        }

        event_token ServerCustomValidationRequested(ServerCustomValidationRequestedHandler const& handler) const
        {
            return validation::add(fn::add_ServerCustomValidationRequested, this->abi(), handler, "ServerCustomValidationRequested");
        }
        void ServerCustomValidationRequested(event_token token) const
        {
            validation::remove(fn::remove_ServerCustomValidationRequested, this->abi(), token);
        }
        event_revoker ServerCustomValidationRequested(auto_revoke_t, ServerCustomValidationRequestedHandler const& handler) const
        {
            return validation::add_revoker(fn::add_ServerCustomValidationRequested, fn::remove_ServerCustomValidationRequested,
                                           this->abi(), handler, "ServerCustomValidationRequested");
        }

        // rtws extension: runs this socket's handlers and Completed callbacks on `queue`'s
        // thread (before ConnectAsync); nullptr when unbound.
        System::DispatcherQueue DispatcherQueue() const
        {
            return impl::get_object<System::DispatcherQueue>(fn::get_DispatcherQueue, this->abi());
        }
        void DispatcherQueue(System::DispatcherQueue const& queue) const
        {
            impl::check(fn::put_DispatcherQueue(this->abi(), queue ? queue.abi() : nullptr));
        }

    protected:
        using closed = impl::socket_event<Self, IWebSocket, WebSocketClosedEventArgs>;
        using validation = impl::socket_event<Self, Self, WebSocketServerCustomValidationRequestedEventArgs>;

        // A new socket's handle, for the default constructors.
        static Abi* create()
        {
            Abi* handle = nullptr;
            impl::check(fn::create(&handle));
            return handle;
        }
    };

    struct MessageWebSocket
        : WebSocketBase<MessageWebSocket, abi::MessageWebSocket, MessageWebSocketControl, MessageWebSocketInformation>
    {
        using MessageReceivedHandler = Foundation::TypedEventHandler<MessageWebSocket, MessageWebSocketMessageReceivedEventArgs>;
        using WebSocketBase::WebSocketBase;
        MessageWebSocket() : WebSocketBase(create(), take_ownership_from_abi) {}

        // Sends a frame without FIN (a message's start or middle part) / with FIN (its end).
        Foundation::IAsyncOperation<uint32_t> SendNonfinalFrameAsync(Storage::Streams::IBuffer const& data) const
        {
            return impl::get_object<Foundation::IAsyncOperation<uint32_t>>(abi::MessageWebSocket_SendNonfinalFrameAsync, abi(), data.abi());
        }
        Foundation::IAsyncOperation<uint32_t> SendFinalFrameAsync(Storage::Streams::IBuffer const& data) const
        {
            return impl::get_object<Foundation::IAsyncOperation<uint32_t>>(abi::MessageWebSocket_SendFinalFrameAsync, abi(), data.abi());
        }

        event_token MessageReceived(MessageReceivedHandler const& handler) const
        {
            return received::add(abi::MessageWebSocket_add_MessageReceivedEx, abi(), handler, "MessageReceived");
        }
        void MessageReceived(event_token token) const { received::remove(abi::MessageWebSocket_remove_MessageReceived, abi(), token); }
        event_revoker MessageReceived(auto_revoke_t, MessageReceivedHandler const& handler) const
        {
            return received::add_revoker(abi::MessageWebSocket_add_MessageReceivedEx, abi::MessageWebSocket_remove_MessageReceived, abi(),
                                         handler, "MessageReceived");
        }

    private:
        using received = impl::socket_event<MessageWebSocket, MessageWebSocket, MessageWebSocketMessageReceivedEventArgs>;
    };

    struct StreamWebSocket : WebSocketBase<StreamWebSocket, abi::StreamWebSocket, StreamWebSocketControl, StreamWebSocketInformation>
    {
        using WebSocketBase::WebSocketBase;
        StreamWebSocket() : WebSocketBase(create(), take_ownership_from_abi) {}

        // The payload of every message, as one stream (after ConnectAsync completed).
        Storage::Streams::IInputStream InputStream() const
        {
            return impl::get_object<Storage::Streams::IInputStream>(abi::StreamWebSocket_get_InputStream, abi());
        }
    };

    // What both socket classes are (the Closed event's sender): either of them.
    struct IWebSocket
    {
        IWebSocket(std::nullptr_t) noexcept {}
        IWebSocket(MessageWebSocket const& socket) : m_socket(socket) {}
        IWebSocket(StreamWebSocket const& socket) : m_socket(socket) {}

        explicit operator bool() const noexcept
        {
            return std::visit([](auto const& s) { return static_cast<bool>(s); }, m_socket);
        }
        // The socket class behind it (hresult_no_interface if it is the other one).
        template <typename T>
        T as() const
        {
            if (auto const* socket = std::get_if<T>(&m_socket))
            {
                return *socket;
            }
            throw hresult_no_interface(hstring(L"the IWebSocket is another socket class"));
        }
        template <typename T>
        T try_as() const noexcept
        {
            auto const* socket = std::get_if<T>(&m_socket);
            return socket ? *socket : T{ nullptr };
        }

        Storage::Streams::IOutputStream OutputStream() const
        {
            return std::visit([](auto const& s) { return s.OutputStream(); }, m_socket);
        }
        Foundation::IAsyncAction ConnectAsync(Foundation::Uri const& uri) const
        {
            return std::visit([&](auto const& s) { return s.ConnectAsync(uri); }, m_socket);
        }
        void SetRequestHeader(hstring const& headerName, hstring const& headerValue) const
        {
            std::visit([&](auto const& s) { s.SetRequestHeader(headerName, headerValue); }, m_socket);
        }
        void Close() const
        {
            std::visit([](auto const& s) { s.Close(); }, m_socket);
        }
        void Close(uint16_t code, hstring const& reason) const
        {
            std::visit([&](auto const& s) { s.Close(code, reason); }, m_socket);
        }
        event_token Closed(MessageWebSocket::ClosedHandler const& handler) const
        {
            return std::visit([&](auto const& s) { return s.Closed(handler); }, m_socket);
        }
        void Closed(event_token token) const
        {
            std::visit([&](auto const& s) { s.Closed(token); }, m_socket);
        }
        event_revoker Closed(auto_revoke_t, MessageWebSocket::ClosedHandler const& handler) const
        {
            return std::visit([&](auto const& s) { return s.Closed(auto_revoke, handler); }, m_socket);
        }

    private:
        std::variant<MessageWebSocket, StreamWebSocket> m_socket{ MessageWebSocket{ nullptr } };
    };
}

#endif
