// How kvctl writes keys and values as text: in arguments, batch lines, range
// lines and --json. Keys and values are bytes; text must survive a shell and
// JSON (which holds only valid UTF-8), so each encoding maps every byte string
// to such text and back, losslessly.
//
//   escaped (default): text stays as it is: printable ASCII and valid UTF-8
//            pass through; a backslash is written \\, TAB \t, LF \n, CR \r,
//            and every other byte (controls, 0x7F, bytes of invalid UTF-8)
//            \xHH. Reading takes exactly those escapes; any other byte is
//            itself, so a raw TAB in an argument is a TAB.
//   hex:     two lowercase hex digits per byte (reading takes either case).
//   base64:  RFC 4648 with padding (reading requires canonical padding).
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace kvlog::kvctl {

enum class Encoding { kEscaped, kHex, kBase64 };

std::string_view EncodingName(Encoding encoding);
std::optional<Encoding> ParseEncoding(std::string_view name);

// Always valid UTF-8, without TAB, LF or CR.
std::string Encode(std::string_view bytes, Encoding encoding);

// The bytes `text` stands for, or a message saying what is wrong and where
// (byte offset), e.g. "invalid escape '\q' at byte 3".
std::expected<std::string, std::string> Decode(std::string_view text, Encoding encoding);

}  // namespace kvlog::kvctl
