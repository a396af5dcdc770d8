// Duplicate detection for plain records (puts and deletes), by the
// kvlog-writer and kvlog-seq headers every client writes (writer_headers).
// Internal to kv/ (and to the simulator's history translator, which must
// decide as the replicas do).
//
// A retried append that the log committed twice (the librdkafka mock's
// `outage`, or a producer without idempotence) leaves two copies of one
// record. Every replica keeps, per writer instance, the window of the last
// kWindow sequence numbers below the highest it has seen, and skips a record
// whose sequence number is in it. The decision depends only on the records
// before it in the log, so every replica that applied the same log decides the
// same way.
//
//  - A client numbers its records from a base of its own instance (the high
//    32 bits, see ClientImpl::Open): a restarted writer with the same client
//    id starts a new window, so its new writes are never taken for old ones.
//  - Several threads of one client may append out of sequence order: the
//    window is a set (a bitmap), not "at most the highest seen"; a number
//    more than kWindow below the highest is too old to judge and is applied.
//  - At most kWriters windows are kept; beyond that the one idle longest (by
//    the offset it last saw a record at) is forgotten, deterministically.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "log/record.h"

namespace kvlog::kv::internal {

class PlainDedup {
 public:
  static constexpr std::size_t kWindow = 1024;
  static constexpr std::size_t kWriters = 4096;

  struct Window {
    uint64_t high = 0;                          // The highest sequence number seen.
    std::array<uint64_t, kWindow / 64> bits{};  // Bit i: high - i was seen.
    int64_t last = 0;                           // The offset it last saw a record at.
    bool Has(uint64_t seq) const {
      if (seq > high || high - seq >= kWindow) return false;
      const uint64_t i = high - seq;
      return (bits[i / 64] >> (i % 64)) & 1;
    }
    void Add(uint64_t seq) {
      if (seq > high) {
        Shift(seq - high);
        high = seq;
      }
      if (high - seq >= kWindow) return;  // Too old to remember.
      const uint64_t i = high - seq;
      bits[i / 64] |= uint64_t{1} << (i % 64);
    }

   private:
    void Shift(uint64_t n) {
      if (n >= kWindow) {
        bits.fill(0);
        return;
      }
      // Bit i moves to i + n.
      std::array<uint64_t, kWindow / 64> out{};
      const std::size_t words = n / 64, rest = n % 64;
      for (std::size_t w = bits.size(); w-- > 0;) {
        if (w + words >= bits.size()) continue;
        out[w + words] |= bits[w] << rest;
        if (rest != 0 && w + words + 1 < bits.size()) out[w + words + 1] |= bits[w] >> (64 - rest);
      }
      bits = out;
    }
  };

  // The key of a writer instance: the kvlog-writer header and the seq's
  // high 32 bits.
  using Key = std::pair<std::string, uint32_t>;

  // The writer and seq of a record, when it carries both headers.
  static std::optional<std::pair<const std::string*, uint64_t>> Identity(const log::Record& record,
                                                                          std::string_view writer_header,
                                                                          std::string_view seq_header) {
    const std::string* writer = record.FindHeader(writer_header);
    const std::string* seq = record.FindHeader(seq_header);
    uint64_t n = 0;
    if (writer == nullptr || seq == nullptr) return std::nullopt;
    const auto [ptr, ec] = std::from_chars(seq->data(), seq->data() + seq->size(), n);
    if (ec != std::errc() || ptr != seq->data() + seq->size()) return std::nullopt;
    return std::make_pair(writer, n);
  }

  // Whether (writer, seq) at `offset` is a duplicate; if not, remembers it.
  // `changed` (optional) receives the keys whose windows changed or were
  // forgotten (for a durable store).
  bool Check(const std::string& writer, uint64_t seq, int64_t offset, std::vector<Key>* changed = nullptr) {
    Key key(writer, static_cast<uint32_t>(seq >> 32));
    auto [it, added] = windows_.try_emplace(key);
    Window& w = it->second;
    if (!added && w.Has(seq)) return true;
    w.Add(seq);
    w.last = offset;
    if (changed != nullptr) changed->push_back(key);
    if (added && windows_.size() > kWriters) {
      auto idle = windows_.end();
      for (auto i = windows_.begin(); i != windows_.end(); ++i) {
        if (i->first == key) continue;
        if (idle == windows_.end() || i->second.last < idle->second.last ||
            (i->second.last == idle->second.last && i->first < idle->first)) {
          idle = i;
        }
      }
      if (changed != nullptr) changed->push_back(idle->first);
      windows_.erase(idle);
    }
    return false;
  }

  // The window of `key`, or null when forgotten.
  const Window* Find(const Key& key) const {
    auto it = windows_.find(key);
    return it == windows_.end() ? nullptr : &it->second;
  }
  void Restore(Key key, const Window& window) { windows_[std::move(key)] = window; }
  std::size_t size() const { return windows_.size(); }

  // A window as text for a durable store's metadata, and back:
  // "<high>|<last>|<16 words in hex>".
  static std::string Encode(const Window& w) {
    std::string out = fmt::format("{}|{}", w.high, w.last);
    char buf[17];
    for (uint64_t word : w.bits) {
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, word, 16);
      out += "|";
      out.append(buf, end);
    }
    return out;
  }
  static std::optional<Window> Decode(std::string_view text) {
    Window w;
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
      const std::size_t bar = text.find('|', start);
      parts.push_back(text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    if (parts.size() != 2 + w.bits.size()) return std::nullopt;
    auto parse = [](std::string_view s, auto* out, int base) {
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
      return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
    };
    if (!parse(parts[0], &w.high, 10) || !parse(parts[1], &w.last, 10)) return std::nullopt;
    for (std::size_t i = 0; i < w.bits.size(); ++i) {
      if (!parse(parts[2 + i], &w.bits[i], 16)) return std::nullopt;
    }
    return w;
  }

 private:
  absl::flat_hash_map<Key, Window> windows_;
};

}  // namespace kvlog::kv::internal
