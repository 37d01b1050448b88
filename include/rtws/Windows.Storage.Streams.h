/*
 * rtws C++20 projection: Windows.Storage.Streams (IBuffer, Buffer, IInputStream,
 * IOutputStream, DataWriter, DataReader and their enums). DataWriter and DataReader are
 * internally locked by rtws: one may be used from several threads.
 *
 * Lifetimes as in UWP: a DataWriter owns its stream until DetachStream, and destroying the
 * last copy of a writer that still owns a socket's output stream closes that stream for good
 * (RO_E_CLOSED afterwards): detach it first, as the samples do.
 */
#ifndef RTWS_CPP_WINDOWS_STORAGE_STREAMS_H
#define RTWS_CPP_WINDOWS_STORAGE_STREAMS_H

#include <rtws/Windows.Foundation.h>

namespace rtws::impl
{
    RTWS_IMPL_REF_COUNT(IBuffer)
    RTWS_IMPL_REF_COUNT(IInputStream)
    RTWS_IMPL_REF_COUNT(IOutputStream)
    RTWS_IMPL_REF_COUNT(DataWriter)
    RTWS_IMPL_REF_COUNT(DataReader)
}

namespace rtws::Windows::Storage::Streams
{
    enum class InputStreamOptions : uint32_t
    {
        None = InputStreamOptions_None,
        Partial = InputStreamOptions_Partial,
        ReadAhead = InputStreamOptions_ReadAhead,
    };
    constexpr InputStreamOptions operator|(InputStreamOptions a, InputStreamOptions b) noexcept
    {
        return static_cast<InputStreamOptions>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
    }
    constexpr InputStreamOptions operator&(InputStreamOptions a, InputStreamOptions b) noexcept
    {
        return static_cast<InputStreamOptions>(static_cast<uint32_t>(a) & static_cast<uint32_t>(b));
    }

    enum class UnicodeEncoding : int32_t
    {
        Utf8 = abi::UnicodeEncoding_Utf8,
        Utf16LE = abi::UnicodeEncoding_Utf16LE,
        Utf16BE = abi::UnicodeEncoding_Utf16BE,
    };

    enum class ByteOrder : int32_t
    {
        LittleEndian = abi::ByteOrder_LittleEndian,
        BigEndian = abi::ByteOrder_BigEndian,
    };

    // Bytes with a capacity and a length, owned by rtws (no pointer into them is handed out:
    // copy them out with CopyTo).
    struct IBuffer : impl::object<abi::IBuffer>
    {
        using object::object;
        uint32_t Capacity() const { return impl::get_value<uint32_t>(abi::IBuffer_get_Capacity, abi()); }
        uint32_t Length() const { return impl::get_value<uint32_t>(abi::IBuffer_get_Length, abi()); }
        void Length(uint32_t value) const { impl::check(abi::IBuffer_put_Length(abi(), value)); }
        // rtws extension: copies bytes from `offset` into `destination`; the count copied.
        uint32_t CopyTo(uint32_t offset, array_view<byte> destination) const
        {
            uint32_t copied = 0;
            impl::check(abi::IBuffer_CopyTo(abi(), offset, destination.data(), destination.size(), &copied));
            return copied;
        }
    };

    // Windows.Storage.Streams.Buffer: Buffer{ capacity }, length 0.
    struct Buffer : IBuffer
    {
        explicit Buffer(uint32_t capacity) : IBuffer(nullptr)
        {
            abi::IBuffer* handle = nullptr;
            impl::check(abi::Buffer_Create(capacity, &handle));
            *this = Buffer(handle, take_ownership_from_abi);
        }
        Buffer(std::nullptr_t) noexcept : IBuffer(nullptr) {}
        Buffer(abi::IBuffer* handle, take_ownership_from_abi_t) noexcept : IBuffer(handle, take_ownership_from_abi) {}
        // rtws extension: a buffer holding a copy of `bytes` (capacity = length = their count).
        static Buffer CreateFromBytes(array_view<byte const> bytes)
        {
            abi::IBuffer* handle = nullptr;
            impl::check(abi::Buffer_CreateFromBytes(bytes.data(), bytes.size(), &handle));
            return Buffer(handle, take_ownership_from_abi);
        }
    };
}

namespace rtws::impl
{
    template <>
    struct async_abi<Windows::Storage::Streams::IBuffer>
    {
        RTWS_IMPL_ASYNC_ABI(IAsyncOperationIBuffer)
        using abi_result = abi::IBuffer*;
        // GetResults and Wait hand out a new reference.
        static Windows::Storage::Streams::IBuffer from_abi(abi::IBuffer* value) noexcept { return { value, take_ownership_from_abi }; }
        // Complete takes its own reference: this one stays the caller's.
        static abi::IBuffer* to_abi(Windows::Storage::Streams::IBuffer const& value) { return value.abi(); }
    };
}

namespace rtws::Windows::Storage::Streams
{
    struct IInputStream : impl::object<abi::IInputStream>
    {
        using object::object;
        // Reads up to `count` bytes into `buffer` (whose capacity must hold them); the
        // result is that buffer, its Length the bytes read (0: the stream ended).
        Foundation::IAsyncOperation<IBuffer> ReadAsync(IBuffer const& buffer, uint32_t count, InputStreamOptions options) const
        {
            return impl::get_object<Foundation::IAsyncOperation<IBuffer>>(abi::IInputStream_ReadAsync, abi(), buffer.abi(), count,
                                                                           static_cast<abi::InputStreamOptions>(options));
        }
    };

    struct IOutputStream : impl::object<abi::IOutputStream>
    {
        using object::object;
        // Sends the buffer's bytes as they are now (one message), without a copy.
        Foundation::IAsyncOperation<uint32_t> WriteAsync(IBuffer const& buffer) const
        {
            return impl::get_object<Foundation::IAsyncOperation<uint32_t>>(abi::IOutputStream_WriteAsync, abi(), buffer.abi());
        }
        Foundation::IAsyncOperation<bool> FlushAsync() const
        {
            return impl::get_object<Foundation::IAsyncOperation<bool>>(abi::IOutputStream_FlushAsync, abi());
        }
    };

    struct DataWriter : impl::object<abi::DataWriter>
    {
        using object::object;
        // A writer without a stream (StoreAsync then fails): DataWriter_Create.
        DataWriter() : object(create(), take_ownership_from_abi) {}
        // A writer that owns `stream` until DetachStream.
        DataWriter(IOutputStream const& stream) : object(create(stream), take_ownership_from_abi) {}

        uint32_t UnstoredBufferLength() const { return impl::get_value<uint32_t>(abi::DataWriter_get_UnstoredBufferLength, abi()); }
        Streams::UnicodeEncoding UnicodeEncoding() const
        {
            return impl::get_value<Streams::UnicodeEncoding, abi::UnicodeEncoding>(abi::DataWriter_get_UnicodeEncoding, abi());
        }
        void UnicodeEncoding(Streams::UnicodeEncoding value) const
        {
            impl::check(abi::DataWriter_put_UnicodeEncoding(abi(), static_cast<int32_t>(value)));
        }
        Streams::ByteOrder ByteOrder() const { return impl::get_value<Streams::ByteOrder, abi::ByteOrder>(abi::DataWriter_get_ByteOrder, abi()); }
        void ByteOrder(Streams::ByteOrder value) const { impl::check(abi::DataWriter_put_ByteOrder(abi(), static_cast<int32_t>(value))); }

        void WriteByte(byte value) const { impl::check(abi::DataWriter_WriteByte(abi(), value)); }
        void WriteBytes(array_view<byte const> value) const { impl::check(abi::DataWriter_WriteBytes(abi(), value.size(), value.data())); }
        void WriteBoolean(bool value) const { impl::check(abi::DataWriter_WriteBoolean(abi(), value)); }
        void WriteInt16(int16_t value) const { impl::check(abi::DataWriter_WriteInt16(abi(), value)); }
        void WriteUInt16(uint16_t value) const { impl::check(abi::DataWriter_WriteUInt16(abi(), value)); }
        void WriteInt32(int32_t value) const { impl::check(abi::DataWriter_WriteInt32(abi(), value)); }
        void WriteUInt32(uint32_t value) const { impl::check(abi::DataWriter_WriteUInt32(abi(), value)); }
        void WriteInt64(int64_t value) const { impl::check(abi::DataWriter_WriteInt64(abi(), value)); }
        void WriteUInt64(uint64_t value) const { impl::check(abi::DataWriter_WriteUInt64(abi(), value)); }
        void WriteSingle(float value) const { impl::check(abi::DataWriter_WriteSingle(abi(), value)); }
        void WriteDouble(double value) const { impl::check(abi::DataWriter_WriteDouble(abi(), value)); }
        // Writes the string in the writer's UnicodeEncoding; the bytes it added.
        uint32_t WriteString(hstring const& value) const
        {
            return impl::get_value<uint32_t>(abi::DataWriter_WriteString, abi(), impl::c_str(value));
        }
        uint32_t MeasureString(hstring const& value) const
        {
            return impl::get_value<uint32_t>(abi::DataWriter_MeasureString, abi(), impl::c_str(value));
        }
        // Sends what was written (one message on a socket); the bytes stored.
        Foundation::IAsyncOperation<uint32_t> StoreAsync() const
        {
            return impl::get_object<Foundation::IAsyncOperation<uint32_t>>(abi::DataWriter_StoreAsync, abi());
        }
        Foundation::IAsyncOperation<bool> FlushAsync() const
        {
            return impl::get_object<Foundation::IAsyncOperation<bool>>(abi::DataWriter_FlushAsync, abi());
        }
        IOutputStream DetachStream() const { return impl::get_object<IOutputStream>(abi::DataWriter_DetachStream, abi()); }
        void Close() const { impl::check(abi::DataWriter_Close(abi())); }

    private:
        static abi::DataWriter* create()
        {
            abi::DataWriter* handle = nullptr;
            impl::check(abi::DataWriter_Create(&handle));
            return handle;
        }
        static abi::DataWriter* create(IOutputStream const& stream)
        {
            abi::DataWriter* handle = nullptr;
            impl::check(abi::DataWriter_CreateDataWriter(stream.abi(), &handle));
            return handle;
        }
    };

    struct DataReader : impl::object<abi::DataReader>
    {
        using object::object;
        // A reader that loads from `stream` (LoadAsync) and owns it until DetachStream. A
        // message's reader (args.GetDataReader()) comes loaded already.
        DataReader(IInputStream const& stream) : object(nullptr)
        {
            *this = impl::get_object<DataReader>(abi::DataReader_CreateDataReader, stream.abi());
        }

        Foundation::IAsyncOperation<uint32_t> LoadAsync(uint32_t count) const
        {
            return impl::get_object<Foundation::IAsyncOperation<uint32_t>>(abi::DataReader_LoadAsync, abi(), count);
        }
        Streams::InputStreamOptions InputStreamOptions() const
        {
            return impl::get_value<Streams::InputStreamOptions, abi::InputStreamOptions>(abi::DataReader_get_InputStreamOptions, abi());
        }
        void InputStreamOptions(Streams::InputStreamOptions value) const
        {
            impl::check(abi::DataReader_put_InputStreamOptions(abi(), static_cast<abi::InputStreamOptions>(value)));
        }
        IInputStream DetachStream() const { return impl::get_object<IInputStream>(abi::DataReader_DetachStream, abi()); }
        uint32_t UnconsumedBufferLength() const { return impl::get_value<uint32_t>(abi::DataReader_get_UnconsumedBufferLength, abi()); }
        Streams::UnicodeEncoding UnicodeEncoding() const
        {
            return impl::get_value<Streams::UnicodeEncoding, abi::UnicodeEncoding>(abi::DataReader_get_UnicodeEncoding, abi());
        }
        void UnicodeEncoding(Streams::UnicodeEncoding value) const
        {
            impl::check(abi::DataReader_put_UnicodeEncoding(abi(), static_cast<int32_t>(value)));
        }
        Streams::ByteOrder ByteOrder() const { return impl::get_value<Streams::ByteOrder, abi::ByteOrder>(abi::DataReader_get_ByteOrder, abi()); }
        void ByteOrder(Streams::ByteOrder value) const { impl::check(abi::DataReader_put_ByteOrder(abi(), static_cast<int32_t>(value))); }

        byte ReadByte() const { return impl::get_value<byte>(abi::DataReader_ReadByte, abi()); }
        // Fills `value` whole (hresult_out_of_bounds, nothing consumed, if fewer bytes are left).
        void ReadBytes(array_view<byte> value) const { impl::check(abi::DataReader_ReadBytes(abi(), value.size(), value.data())); }
        bool ReadBoolean() const { return impl::get_value<bool>(abi::DataReader_ReadBoolean, abi()); }
        int16_t ReadInt16() const { return impl::get_value<int16_t>(abi::DataReader_ReadInt16, abi()); }
        uint16_t ReadUInt16() const { return impl::get_value<uint16_t>(abi::DataReader_ReadUInt16, abi()); }
        int32_t ReadInt32() const { return impl::get_value<int32_t>(abi::DataReader_ReadInt32, abi()); }
        uint32_t ReadUInt32() const { return impl::get_value<uint32_t>(abi::DataReader_ReadUInt32, abi()); }
        int64_t ReadInt64() const { return impl::get_value<int64_t>(abi::DataReader_ReadInt64, abi()); }
        uint64_t ReadUInt64() const { return impl::get_value<uint64_t>(abi::DataReader_ReadUInt64, abi()); }
        float ReadSingle() const { return impl::get_value<float>(abi::DataReader_ReadSingle, abi()); }
        double ReadDouble() const { return impl::get_value<double>(abi::DataReader_ReadDouble, abi()); }
        // Decodes the next `codeUnitCount` code units (bytes for Utf8) in the UnicodeEncoding.
        hstring ReadString(uint32_t codeUnitCount) const
        {
            uint32_t needed = 0;
            hresult const code = abi::DataReader_ReadString(abi(), codeUnitCount, nullptr, 0, &needed);
            if (code != E_NOT_SUFFICIENT_BUFFER)
            {
                impl::check(code);
            }
            std::string text(needed, '\0');
            impl::check(abi::DataReader_ReadString(abi(), codeUnitCount, text.data(), needed, &needed));
            text.resize(needed - 1);  // the NUL
            return hstring(std::string_view(text));
        }
        void Close() const { impl::check(abi::DataReader_Close(abi())); }
    };
}

#endif
