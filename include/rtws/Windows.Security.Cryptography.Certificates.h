/*
 * rtws C++20 projection: Windows.Security.Cryptography.Certificates (Certificate,
 * ChainValidationResult) and the vectors of them the sockets hand out.
 */
#ifndef RTWS_CPP_WINDOWS_SECURITY_CRYPTOGRAPHY_CERTIFICATES_H
#define RTWS_CPP_WINDOWS_SECURITY_CRYPTOGRAPHY_CERTIFICATES_H

#include <rtws/Windows.Storage.Streams.h>

namespace rtws::impl
{
    RTWS_IMPL_REF_COUNT(Certificate)
    RTWS_IMPL_REF_COUNT(IVectorChainValidationResult)
    RTWS_IMPL_REF_COUNT(IVectorViewCertificate)

    // A C function that fills a caller buffer (Win32 pattern), read whole.
    template <typename F, typename... A>
    std::vector<byte> get_bytes(F getter, A... args)
    {
        uint32_t needed = 0;
        hresult const code = getter(args..., nullptr, 0, &needed);
        if (code != E_NOT_SUFFICIENT_BUFFER)
        {
            check(code);
        }
        std::vector<byte> bytes(needed);
        check(getter(args..., bytes.data(), needed, &needed));
        bytes.resize(needed);
        return bytes;
    }
}

namespace rtws::Windows::Security::Cryptography::Certificates
{
    enum class ChainValidationResult : int32_t
    {
        Success = abi::ChainValidationResult_Success,
        Untrusted = abi::ChainValidationResult_Untrusted,
        Revoked = abi::ChainValidationResult_Revoked,
        Expired = abi::ChainValidationResult_Expired,
        IncompleteChain = abi::ChainValidationResult_IncompleteChain,
        InvalidSignature = abi::ChainValidationResult_InvalidSignature,
        WrongUsage = abi::ChainValidationResult_WrongUsage,
        InvalidName = abi::ChainValidationResult_InvalidName,
        InvalidCertificateAuthorityPolicy = abi::ChainValidationResult_InvalidCertificateAuthorityPolicy,
        BasicConstraintsError = abi::ChainValidationResult_BasicConstraintsError,
        UnknownCriticalExtension = abi::ChainValidationResult_UnknownCriticalExtension,
        RevocationInformationMissing = abi::ChainValidationResult_RevocationInformationMissing,
        RevocationFailure = abi::ChainValidationResult_RevocationFailure,
        OtherErrors = abi::ChainValidationResult_OtherErrors,
    };

    struct Certificate : impl::object<abi::Certificate>
    {
        using object::object;
        // Certificate(IBuffer): from DER bytes.
        explicit Certificate(Storage::Streams::IBuffer const& certificateBlob) : object(nullptr)
        {
            *this = impl::get_object<Certificate>(abi::Certificate_CreateCertificate, certificateBlob.abi());
        }
        // rtws extensions: a certificate with its private key, for Control().ClientCertificate().
        static Certificate CreateFromPkcs12(array_view<byte const> pkcs12, hstring const& password)
        {
            return impl::get_object<Certificate>(abi::Certificate_CreateFromPkcs12, pkcs12.data(), pkcs12.size(), impl::c_str(password));
        }
        static Certificate CreateFromPem(hstring const& certificatePem, hstring const& privateKeyPem)
        {
            return impl::get_object<Certificate>(abi::Certificate_CreateFromPem, impl::c_str(certificatePem), impl::c_str(privateKeyPem));
        }

        hstring Subject() const { return impl::get_string(abi::Certificate_get_Subject, abi()); }
        hstring Issuer() const { return impl::get_string(abi::Certificate_get_Issuer, abi()); }
        Foundation::DateTime ValidFrom() const { return date(abi::Certificate_get_ValidFrom); }
        Foundation::DateTime ValidTo() const { return date(abi::Certificate_get_ValidTo); }
        bool HasPrivateKey() const { return impl::get_value<bool>(abi::Certificate_get_HasPrivateKey, abi()); }
        // The SHA-1 hash; GetHashValue(L"SHA256") for another algorithm.
        std::vector<byte> GetHashValue() const { return impl::get_bytes(abi::Certificate_GetHashValue, abi()); }
        std::vector<byte> GetHashValue(hstring const& hashAlgorithmName) const
        {
            return impl::get_bytes(abi::Certificate_GetHashValueWithAlgorithm, abi(), impl::c_str(hashAlgorithmName));
        }
        Storage::Streams::IBuffer GetCertificateBlob() const
        {
            return impl::get_object<Storage::Streams::IBuffer>(abi::Certificate_GetCertificateBlob, abi());
        }

    private:
        template <typename F>
        Foundation::DateTime date(F getter) const
        {
            return Foundation::DateTime{ Foundation::TimeSpan{ impl::get_value<abi::DateTime>(getter, abi()).UniversalTime } };
        }
    };
}

namespace rtws::Windows::Foundation::Collections
{
    // IgnorableServerCertificateErrors (editable until ConnectAsync), ServerCertificateErrors (read-only).
    template <>
    struct IVector<Security::Cryptography::Certificates::ChainValidationResult> : impl::object<abi::IVectorChainValidationResult>
    {
        using value_type = Security::Cryptography::Certificates::ChainValidationResult;
        using object::object;
        uint32_t Size() const { return impl::get_value<uint32_t>(abi::IVectorChainValidationResult_get_Size, abi()); }
        value_type GetAt(uint32_t index) const
        {
            return impl::get_value<value_type, abi::ChainValidationResult>(abi::IVectorChainValidationResult_GetAt, abi(), index);
        }
        bool IndexOf(value_type value, uint32_t& index) const
        {
            bool found = false;
            impl::check(abi::IVectorChainValidationResult_IndexOf(abi(), static_cast<int32_t>(value), &index, &found));
            return found;
        }
        void Append(value_type value) const { impl::check(abi::IVectorChainValidationResult_Append(abi(), static_cast<int32_t>(value))); }
        void RemoveAt(uint32_t index) const { impl::check(abi::IVectorChainValidationResult_RemoveAt(abi(), index)); }
        void Clear() const { impl::check(abi::IVectorChainValidationResult_Clear(abi())); }
    };

    template <>
    struct IVectorView<Security::Cryptography::Certificates::Certificate> : impl::object<abi::IVectorViewCertificate>
    {
        using object::object;
        uint32_t Size() const { return impl::get_value<uint32_t>(abi::IVectorViewCertificate_get_Size, abi()); }
        Security::Cryptography::Certificates::Certificate GetAt(uint32_t index) const
        {
            return impl::get_object<Security::Cryptography::Certificates::Certificate>(abi::IVectorViewCertificate_GetAt, abi(), index);
        }
    };
}

#endif
