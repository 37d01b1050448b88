// wss: through the projection, against the test server's TLS listeners:
//   test_tls ws://127.0.0.1:PORT TLS_DIR VALID SELFSIGNED CLIENTAUTH [TEST...]
// Trusted roots, certificate errors as HRESULTs and WebErrorStatus, ignorable errors, the
// Information's certificates, ServerCustomValidationRequested (Reject, Deferral), Certificate
// and a client certificate (PKCS#12).
#include "cpptest.h"

#include <rtws/Windows.Web.h>

#include <fstream>
#include <iterator>

using namespace rtws;
using namespace Windows::Foundation;
using namespace Windows::Networking::Sockets;
using namespace Windows::Security::Cryptography::Certificates;
using namespace Windows::Storage::Streams;
using namespace std::chrono_literals;

namespace
{
    std::string file(char const* name)
    {
        std::ifstream in(cpptest::args[0] + "/" + name, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    hstring ca_pem() { return to_hstring(file("ca.pem")); }
    hstring wss(std::string const& port) { return to_hstring("wss://127.0.0.1:" + port + "/echo"); }
    hstring valid() { return wss(cpptest::args[1]); }

    // The HRESULT a connect ended with (S_OK: connected).
    hresult connect(MessageWebSocket const& ws, hstring const& uri)
    {
        try
        {
            ws.ConnectAsync(Uri{ uri }).get();
            return S_OK;
        }
        catch (hresult_error const& e)
        {
            return e.code();
        }
    }

    void test_trusted_roots_and_information()
    {
        MessageWebSocket untrusted;
        hresult const refused = connect(untrusted, valid());
        CHECK(refused == WININET_E_INVALID_CA);
        CHECK(WebSocketError::GetStatus(refused) == Windows::Web::WebErrorStatus::CertificateIsInvalid);

        MessageWebSocket ws;
        ws.Control().TrustedRootCertificates(ca_pem());
        CHECK(connect(ws, valid()) == S_OK);
        auto const information = ws.Information();
        CHECK(information.ServerCertificateErrorSeverity() == SocketSslErrorSeverity::None);
        CHECK(information.ServerCertificateErrors().Size() == 0);
        CHECK(information.LocalAddress() == L"127.0.0.1");
        Certificate const certificate = information.ServerCertificate();
        CHECK(to_string(certificate.Subject()).find("rtws test") != std::string::npos);
        CHECK(to_string(certificate.Issuer()).find("rtws test CA") != std::string::npos);
        CHECK(certificate.ValidFrom() < certificate.ValidTo());
        CHECK(certificate.ValidTo() > clock::now());
        CHECK(!certificate.HasPrivateKey());
        CHECK(certificate.GetHashValue().size() == 20);
        CHECK(certificate.GetHashValue(L"SHA256").size() == 32);
        IBuffer const blob = certificate.GetCertificateBlob();
        CHECK(blob.Length() > 100);
        CHECK(Certificate{ blob }.Subject() == certificate.Subject());
        CHECK(information.ServerIntermediateCertificates().Size() == 0);
        ws.Close();
    }

    void test_ignorable_errors()
    {
        hstring const selfsigned = wss(cpptest::args[2]);
        MessageWebSocket strict;
        CHECK(connect(strict, selfsigned) == WININET_E_INVALID_CA);

        MessageWebSocket lenient;
        lenient.Control().IgnorableServerCertificateErrors().Append(ChainValidationResult::Untrusted);
        CHECK(connect(lenient, selfsigned) == S_OK);
        CHECK(lenient.Information().ServerCertificateErrorSeverity() == SocketSslErrorSeverity::Ignorable);
        uint32_t index = 0;
        CHECK(lenient.Information().ServerCertificateErrors().IndexOf(ChainValidationResult::Untrusted, index));
        // Read-only once the connect ran.
        CHECK_THROWS(lenient.Control().IgnorableServerCertificateErrors().Append(ChainValidationResult::Expired), E_ILLEGAL_METHOD_CALL);
    }

    void test_custom_validation()
    {
        // Reject in the handler: the connect fails with WININET_E_SEC_INVALID_CERT.
        cpptest::signal asked;
        MessageWebSocket rejecting;
        rejecting.Control().TrustedRootCertificates(ca_pem());
        rejecting.ServerCustomValidationRequested(
            [&](MessageWebSocket const&, WebSocketServerCustomValidationRequestedEventArgs const& args) {
                CHECK(args.ServerCertificateErrorSeverity() == SocketSslErrorSeverity::None);
                CHECK(!args.ServerCertificate().Subject().empty());
                CHECK(args.ServerCertificateErrors().Size() == 0);
                CHECK(args.ServerIntermediateCertificates().Size() == 0);
                args.Reject();
                asked.bump();
            });
        CHECK(connect(rejecting, valid()) == WININET_E_SEC_INVALID_CERT);
        CHECK(asked.value() == 1);

        // A Deferral: the connect waits until another thread completes it.
        std::thread decider;
        StreamWebSocket deferring;
        deferring.Control().TrustedRootCertificates(ca_pem());
        deferring.ServerCustomValidationRequested(
            [&](StreamWebSocket const&, WebSocketServerCustomValidationRequestedEventArgs const& args) {
                Deferral deferral = args.GetDeferral();
                decider = std::thread([deferral] {
                    std::this_thread::sleep_for(50ms);
                    deferral.Complete();
                });
            });
        IAsyncAction const connecting = deferring.ConnectAsync(Uri{ valid() });
        CHECK(connecting.wait_for(10s) == AsyncStatus::Completed);
        decider.join();

        // auto_revoke on this event too.
        MessageWebSocket revoked;
        revoked.Control().TrustedRootCertificates(ca_pem());
        {
            auto revoker = revoked.ServerCustomValidationRequested(auto_revoke, [](auto const&, auto const& args) { args.Reject(); });
        }
        CHECK(connect(revoked, valid()) == S_OK);
    }

    void test_client_certificate()
    {
        std::string const p12 = file("client.p12");
        std::vector<byte> const bytes(p12.begin(), p12.end());
        CHECK_THROWS(Certificate::CreateFromPkcs12(bytes, L"wrong"), E_INVALIDARG);
        Certificate const client = Certificate::CreateFromPkcs12(bytes, L"rtws");
        CHECK(client.HasPrivateKey());
        CHECK(Certificate::CreateFromPem(to_hstring(file("client.pem")), to_hstring(file("client-key.pem"))).HasPrivateKey());

        hstring const clientauth = wss(cpptest::args[3]);
        MessageWebSocket without;
        without.Control().TrustedRootCertificates(ca_pem());
        CHECK(connect(without, clientauth) != S_OK);

        MessageWebSocket with;
        with.Control().TrustedRootCertificates(ca_pem());
        with.Control().ClientCertificate(client);
        CHECK(with.Control().ClientCertificate().Subject() == client.Subject());
        CHECK(connect(with, clientauth) == S_OK);
    }
}

int main(int argc, char** argv)
{
    return cpptest::run(argc, argv,
                        { TEST(test_trusted_roots_and_information), TEST(test_ignorable_errors), TEST(test_custom_validation),
                          TEST(test_client_certificate) },
                        4);
}
