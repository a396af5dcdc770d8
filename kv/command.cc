#include "kv/command.h"

namespace kvlog::kv::internal {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytes(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

void PutWrites(std::string& out, const std::vector<CommandWrite>& writes) {
  PutVarint(out, writes.size());
  for (const CommandWrite& w : writes) {
    PutBytes(out, w.key);
    out.push_back(w.value ? 1 : 0);
    if (w.value) PutBytes(out, *w.value);
  }
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      const auto byte = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      *v |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool Byte(uint8_t* b) {
    if (in_.empty()) return false;
    *b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  bool Bytes(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size()) return false;
    s->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  // A count of items each at least `min_bytes` long: refuses counts the rest
  // of the input cannot hold, so a damaged count cannot allocate gigabytes.
  bool Count(uint64_t* n, std::size_t min_bytes) { return Varint(n) && *n <= in_.size() / min_bytes; }
  bool Writes(std::vector<CommandWrite>* writes) {
    uint64_t n;
    if (!Count(&n, 2)) return false;
    writes->resize(n);
    for (CommandWrite& w : *writes) {
      uint8_t has_value;
      if (!Bytes(&w.key) || !Byte(&has_value) || has_value > 1) return false;
      if (has_value) {
        w.value.emplace();
        if (!Bytes(&*w.value)) return false;
      }
    }
    return true;
  }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string EncodeCommand(const Command& command) {
  std::string out(kCommandMagic);
  PutBytes(out, command.writer);
  PutVarint(out, command.seq);
  PutVarint(out, command.compares.size());
  for (const CommandCompare& c : command.compares) {
    PutBytes(out, c.key);
    out.push_back(static_cast<char>(c.kind));
    if (c.kind == CommandCompare::Kind::kVersion) PutVarint(out, static_cast<uint64_t>(c.version));
  }
  PutWrites(out, command.then_writes);
  PutWrites(out, command.else_writes);
  return out;
}

Result<Command> DecodeCommand(std::string_view value) {
  auto bad = [](std::string_view what) {
    return MakeError(ErrorCode::kCorrupt, "command record: " + std::string(what));
  };
  if (!IsCommand(value)) return bad("does not start with the command marker");
  Reader in(value.substr(kCommandMagic.size()));
  Command command;
  if (!in.Bytes(&command.writer) || !in.Varint(&command.seq)) return bad("truncated writer identity");
  uint64_t compares;
  if (!in.Count(&compares, 2)) return bad("bad compare count");
  command.compares.resize(compares);
  for (CommandCompare& c : command.compares) {
    uint8_t kind;
    if (!in.Bytes(&c.key) || !in.Byte(&kind) || kind > 2) return bad("bad compare");
    c.kind = static_cast<CommandCompare::Kind>(kind);
    if (c.kind == CommandCompare::Kind::kVersion) {
      uint64_t v;
      if (!in.Varint(&v) || v > static_cast<uint64_t>(INT64_MAX)) return bad("bad compare version");
      c.version = static_cast<Version>(v);
    }
  }
  if (!in.Writes(&command.then_writes)) return bad("bad then-writes");
  if (!in.Writes(&command.else_writes)) return bad("bad else-writes");
  if (!in.empty()) return bad("trailing bytes");
  return command;
}

std::string CommandRecordKey(const Command& command) {
  std::string key(kCommandRecordKeyPrefix);
  key += command.writer;
  key.push_back('\0');
  key += std::to_string(command.seq);
  return key;
}

}  // namespace kvlog::kv::internal
