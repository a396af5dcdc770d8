// The small languages of kvctl's arguments: read levels (--read) and
// transactions (`kvctl txn`, read from stdin).
//
// --read: local | linearizable | bounded:N | at_least:POSITION
//   (at-least:POSITION too). N is a lag in records (>= 0); POSITION an offset
//   a write printed (>= 0).
//
// txn, modelled on etcdctl's: three sections, each ended by an empty line:
// the compares, the writes made when every compare holds, the writes made
// otherwise. A '#' at the start of a word begins a comment to the end of the
// line. With no compares, start with an empty line.
//
//   version("a") = 5          # a's last write is at offset 5 (alias: mod)
//   absent("b")               # b has no value
//   present(c)                # c has a value; quotes around a key are optional
//
//   put a 1
//   put b "two words"
//
//   del c
//
// Keys and values are in kvctl's --encoding (encoding.h). Double quotes only
// delimit: what is between them is the --encoding text, taken as it is (write
// a '"' inside as \x22 in the escaped encoding). Writes are `put KEY VALUE`
// and `del KEY` (or `delete KEY`); reads are not part of a transaction.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/options.h"
#include "tools/kvctl/encoding.h"

namespace kvlog::kvctl {

// A --read value, or a message naming what was wrong.
std::expected<kv::ReadLevel, std::string> ParseReadLevel(std::string_view text);

struct TxnCompare {
  enum class Kind { kVersion, kAbsent, kPresent };
  Kind kind = Kind::kVersion;
  std::string key;      // Bytes.
  int64_t version = 0;  // kVersion.
  friend bool operator==(const TxnCompare&, const TxnCompare&) = default;
};

struct TxnWrite {
  std::string key;                   // Bytes.
  std::optional<std::string> value;  // None: delete.
  friend bool operator==(const TxnWrite&, const TxnWrite&) = default;
};

struct TxnSpec {
  std::vector<TxnCompare> compares;
  std::vector<TxnWrite> then_writes;
  std::vector<TxnWrite> else_writes;
};

// Parses a transaction, or says which line was wrong and why
// ("line 3: ..."). Writing nothing at all is an error.
std::expected<TxnSpec, std::string> ParseTxn(std::string_view text, Encoding encoding);

}  // namespace kvlog::kvctl
