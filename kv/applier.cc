#include "kv/applier.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "base/check.h"
#include "kv/ttl.h"

namespace kvlog::kv::internal {
namespace {

// A key for a message: printable ASCII as is, other bytes as \xNN, at most
// 64 bytes of it.
std::string Quote(std::string_view key) {
  std::string out = "'";
  for (std::size_t i = 0; i < key.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (key.size() > 64) out += "...";
  return out + "'";
}

std::string VersionText(std::optional<Version> version) {
  return version ? fmt::format("version {}", *version) : std::string("absent");
}

// The store's metadata keys for the applier's duplicate detection:
// "d/<writer>/<seq>" -> "<held 0|1>|<version>|<detail>", "l/<writer>" -> last.
std::string DedupKey(const std::string& writer, uint64_t seq) {
  return fmt::format("d/{}/{:020}", writer, seq);
}

// The last record applied (Applier::LastRecord): "<offset>|<digest>".
constexpr std::string_view kLastRecordKey = "t/last";

// "p/<writer>/<instance>" -> PlainDedup::Encode(window): one entry per writer
// instance, rewritten once per flush that changed it.
std::string PlainKey(const PlainDedup::Key& key) { return fmt::format("p/{}/{}", key.first, key.second); }

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

Applier::Applier(const ClientOptions& options, std::string writer, log::Log& log, Storage& storage, WatchHub& hub,
                 ClientCounters& counters, ApplierListener& listener)
    : options_(options),
      writer_(std::move(writer)),
      log_(log),
      storage_(storage),
      hub_(hub),
      counters_(counters),
      listener_(listener) {}

void Applier::SetDurable(bool identity_known) {
  durable_ = true;
  identity_known_ = identity_known;
}

void Applier::Start(log::Offset position) { position_ = position; }

void Applier::Log(LogLevel level, std::string_view message) const {
  if (options_.logger) options_.logger(level, options_.client_id + ": " + std::string(message));
}

Status Applier::LoadDedup() { return LoadDedup(storage_.LoadMeta()); }

std::optional<Applier::LastRecord> Applier::FindLastRecord(
    const std::vector<std::pair<std::string, std::string>>& meta) {
  for (const auto& [key, value] : meta) {
    if (key != kLastRecordKey) continue;
    const std::string_view v = value;
    const std::size_t bar = v.find('|');
    LastRecord last;
    uint64_t offset = 0;
    if (bar == std::string_view::npos || !ParseNumber(v.substr(0, bar), &offset) ||
        !ParseNumber(v.substr(bar + 1), &last.digest)) {
      return std::nullopt;
    }
    last.offset = static_cast<log::Offset>(offset);
    return last;
  }
  return std::nullopt;
}

Status Applier::LoadDedup(const std::vector<std::pair<std::string, std::string>>& meta) {
  for (const auto& [key, value] : meta) {
    const std::string_view k = key;
    auto bad = [&] {
      return MakeError(ErrorCode::kCorrupt, "open: the store's applier metadata has an unreadable entry '" + key + "'");
    };
    if (k.starts_with("l/")) {
      if (!ParseNumber(value, &dedup_[key.substr(2)].last)) return bad();
    } else if (k.starts_with("d/")) {
      const std::size_t slash = k.rfind('/');
      uint64_t seq = 0;
      if (slash < 2 || !ParseNumber(k.substr(slash + 1), &seq)) return bad();
      const std::string_view v = value;
      const std::size_t bar = v.find('|', 2);
      Outcome outcome;
      if (v.size() < 3 || v[1] != '|' || bar == std::string_view::npos ||
          !ParseNumber(v.substr(2, bar - 2), &outcome.version)) {
        return bad();
      }
      outcome.held = v[0] == '1';
      outcome.detail = std::string(v.substr(bar + 1));
      dedup_[std::string(k.substr(2, slash - 2))].seen.emplace(seq, std::move(outcome));
    } else if (k.starts_with("p/")) {
      const std::size_t slash = k.rfind('/');
      uint32_t instance = 0;
      std::optional<PlainDedup::Window> window = PlainDedup::Decode(value);
      if (slash < 2 || !ParseNumber(k.substr(slash + 1), &instance) || !window) return bad();
      plain_.Restore({std::string(k.substr(2, slash - 2)), instance}, *window);
    } else if (k != kLastRecordKey && k != kReconnectHintKey) {
      return bad();
    }
  }
  KVLOG_CHECK_LE(plain_.size(), PlainDedup::kWriters) << "the store holds too many plain dedup windows";
  for (const auto& [writer, window] : dedup_) {
    KVLOG_CHECK_LE(window.seen.size(), kDedupWindow) << "the store's dedup window of " << writer << " is too large";
  }
  return OkStatus();
}

void Applier::NoteDedup(const std::string& writer, uint64_t seq, const Outcome* outcome) {
  if (!durable_) return;
  if (outcome == nullptr) {
    pending_meta_.push_back(MetaMutation{DedupKey(writer, seq), std::nullopt});
    return;
  }
  pending_meta_.push_back(MetaMutation{
      DedupKey(writer, seq),
      fmt::format("{}|{}|{}", outcome->held ? 1 : 0, outcome->version, outcome->detail)});
}

void Applier::NoteDedupLast(const std::string& writer, log::Offset last) {
  if (!durable_) return;
  pending_meta_.push_back(
      MetaMutation{"l/" + writer, last == log::kNoOffset ? std::nullopt : std::optional(std::to_string(last))});
}

void Applier::Run(log::LogReader& reader, const std::atomic<bool>& closed) {
  while (!closed.load()) {
    Result<std::vector<log::LogEntry>> polled = reader.Poll(options_.max_poll_records, options_.poll_timeout);
    if (!polled) {
      if (polled.error().code() == ErrorCode::kClosed) break;
      const bool lost = polled.error().code() == ErrorCode::kDataLoss;
      // The log lost records (deleted before this client read them, or
      // truncated after): never silent. After a deletion the reader has moved
      // to the log's start, so the pending writes it stepped over fail with
      // kDataLoss (the listener's part).
      Log(lost ? LogLevel::kError : LogLevel::kWarning, "applier: poll failed: " + polled.error().ToString());
      const log::Offset moved = std::max(position_, reader.Position());
      // Every watcher ends: the changes it would have seen were deleted.
      if (lost) hub_.Lost(moved, polled.error().message());
      const bool stop = listener_.OnPollError(polled.error(), lost, moved);
      if (lost) {
        // The store reflects the log up to the reader's new position, less
        // what was deleted (reported above); unless Open fails for it: a
        // durable store must not keep a position past records it lacks.
        if (!stop) storage_.Apply({}, moved, pending_meta_);
        pending_meta_.clear();
        position_ = moved;
        AppliedPoll poll;
        poll.position = moved;
        listener_.OnApplied(poll);
      }
      if (stop) break;  // Open fails and closes the client.
      options_.runtime->SleepFor(options_.poll_error_backoff);
      continue;
    }
    AppliedPoll poll;
    Apply(*polled, reader.Position(), &poll);
    listener_.OnApplied(poll);
  }
}

void Applier::Apply(std::vector<log::LogEntry>& entries, log::Offset position, AppliedPoll* out) {
  // Invariant: the applied position only rises.
  KVLOG_CHECK_GE(position, position_) << "client " << options_.client_id << ": the reader went back";
  ClientCounters::Add(counters_.records_applied, entries.size());
  out->position = position;
  out->own.clear();
  out->own_outcomes.clear();
  out->corrupt.clear();
  // The batch's buffer is the applier's, kept from poll to poll: a replay's
  // polls of 10,000 records each allocated and freed 800 KB, which the
  // allocator may give back to the system and fault in again.
  std::vector<Mutation>& batch = batch_;
  batch.clear();
  batch.reserve(entries.size());
  if (!identity_known_) {
    // A durable store records which log it holds with its first record.
    for (const log::LogEntry& entry : entries) {
      if (!entry.record) continue;
      if (Status recorded = storage_.SetIdentity(LogIdentity{log_.Name(), entry.offset, RecordDigest(*entry.record)});
          !recorded) {
        Log(LogLevel::kError, "applier: recording the log's identity in the store: " + recorded.error().ToString());
      }
      identity_known_ = true;
      break;
    }
  }
  if (durable_ && !entries.empty()) {
    // Read before the loop below moves the records into the batch.
    const log::LogEntry& last = entries.back();
    pending_meta_.push_back(MetaMutation{
        std::string(kLastRecordKey),
        last.record ? std::optional(fmt::format("{}|{}", last.offset, RecordDigest(*last.record))) : std::nullopt});
  }
  for (log::LogEntry& entry : entries) {
    // Not checked here: that entries come in offset order. That is the log's
    // promise, and a log that breaks it (the simulator's `reorder` variant)
    // must be caught by the history checker, not stop the replica.
    if (entry.record) {
      // The reader returns every record's headers: each replica needs the
      // writer and seq of every plain record to skip duplicates.
      std::optional<std::pair<const std::string*, uint64_t>> id;
      if (!entry.record->headers.empty()) id = PlainDedup::Identity(*entry.record, kWriterHeader, kSeqHeader);
      const bool own = id && *id->first == options_.client_id;
      if (own) out->own.emplace_back(id->second, entry.offset);
      if (id && !(entry.record->value && IsCommand(*entry.record->value)) &&
          plain_.Check(*id->first, id->second, entry.offset, durable_ ? &plain_changed_ : nullptr)) {
        // A second copy of a plain record (a retried append committed
        // twice): skipped by every replica. Its writer learns the first
        // copy's offset, the key's version.
        if (own) {
          auto first = own_first_.find(id->second);
          if (first != own_first_.end()) out->own_outcomes.emplace_back(entry.offset, Outcome{true, first->second, {}});
        }
        Log(LogLevel::kInfo, fmt::format("applier: skipped the record at offset {}: a duplicate of writer {}'s seq {}",
                                         entry.offset, *id->first, id->second));
        continue;
      }
      if (own && !(entry.record->value && IsCommand(*entry.record->value))) {
        own_first_[id->second] = entry.offset;
        if (own_first_.size() > PlainDedup::kWindow) own_first_.erase(own_first_.begin());
      }
      if (entry.record->value && IsCommand(*entry.record->value)) {
        Result<Command> command = DecodeCommand(*entry.record->value);
        if (command) {
          Outcome outcome = ApplyCommand(*command, entry.offset, batch);
          if (command->writer == writer_) out->own_outcomes.emplace_back(entry.offset, std::move(outcome));
          continue;
        }
        entry.record = std::unexpected(command.error());
      }
    }
    if (!entry.record) {
      out->corrupt.push_back(entry.offset);
      Log(LogLevel::kError,
          fmt::format("applier: skipped the record at offset {}: {}", entry.offset, entry.record.error().ToString()));
      continue;
    }
    batch.push_back(Mutation{std::move(entry.record->key), std::move(entry.record->value), entry.offset});
  }
  Flush(batch, position);
  position_ = position;
}

void Applier::Flush(std::vector<Mutation>& batch, log::Offset position) {
  // The position moves with the batch, under the store's lock, so a
  // positioned read sees both or neither.
  if (!plain_changed_.empty()) {
    std::sort(plain_changed_.begin(), plain_changed_.end());
    plain_changed_.erase(std::unique(plain_changed_.begin(), plain_changed_.end()), plain_changed_.end());
    for (const PlainDedup::Key& key : plain_changed_) {
      const PlainDedup::Window* window = plain_.Find(key);
      pending_meta_.push_back(MetaMutation{PlainKey(key), window != nullptr ? std::optional(PlainDedup::Encode(*window))
                                                                           : std::nullopt});
    }
    plain_changed_.clear();
  }
  storage_.Apply(batch, position, pending_meta_);
  pending_meta_.clear();
  listener_.OnFlush(batch);
  if (options_.on_expire) {
    for (const auto& [i, expired_version] : expired_in_batch_) {
      options_.on_expire(batch[i].key, expired_version, batch[i].version);
    }
  }
  expired_in_batch_.clear();
  {
    uint64_t sets = 0, bytes = 0;
    for (const Mutation& m : batch) {
      sets += m.value.has_value();
      bytes += m.key.size() + (m.value ? m.value->size() : 0);
    }
    ClientCounters::Add(counters_.sets_applied, sets);
    ClientCounters::Add(counters_.deletes_applied, batch.size() - sets);
    ClientCounters::Add(counters_.bytes_applied, bytes);
  }
  if (options_.on_set || options_.on_delete) {
    for (const Mutation& m : batch) {
      if (m.value) {
        // Hooks see the user's value, without a TTL envelope.
        if (options_.on_set) options_.on_set(m.key, DecodeStoredValue(*m.value).value, m.version);
      } else if (options_.on_delete) {
        options_.on_delete(m.key, m.version);
      }
    }
  }
  // Last: the watch window takes the batch's keys and values by move.
  hub_.Publish(batch, position);
  batch.clear();
}

Outcome Applier::ApplyCommand(const Command& command, log::Offset offset, std::vector<Mutation>& batch) {
  WriterWindow* window = nullptr;
  if (!command.writer.empty()) {
    auto [it, added] = dedup_.try_emplace(command.writer);
    window = &it->second;
    if (auto seen = window->seen.find(command.seq); seen != window->seen.end()) return seen->second;  // A duplicate.
    if (added && dedup_.size() > kDedupWriters) {
      // Forget the writer idle longest (deterministic: by its last offset).
      auto idle = std::min_element(dedup_.begin(), dedup_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
      if (idle != it) {
        for (const auto& [seq, ignored] : idle->second.seen) NoteDedup(idle->first, seq, nullptr);
        NoteDedupLast(idle->first, log::kNoOffset);
        dedup_.erase(idle);
      }
    }
    KVLOG_CHECK_LE(dedup_.size(), kDedupWriters + 1) << "the applier's dedup writers grew past their bound";
  }
  // Conditions see every record before this one, including this poll's:
  // the store then reflects everything below this offset.
  if (!batch.empty()) Flush(batch, offset);
  Outcome outcome;
  outcome.version = offset;
  for (const CommandCompare& c : command.compares) {
    std::optional<VersionedValue> entry = storage_.GetEntry(c.key);
    const std::optional<Version> current = entry ? std::optional<Version>(entry->version) : std::nullopt;
    bool holds = false;
    std::string expected;
    switch (c.kind) {
      case CommandCompare::Kind::kAbsent:
        holds = !current;
        expected = "absent";
        break;
      case CommandCompare::Kind::kPresent:
        holds = current.has_value();
        expected = "present";
        break;
      case CommandCompare::Kind::kVersion:
        holds = current && *current == c.version;
        expected = fmt::format("version {}", c.version);
        break;
    }
    if (!holds) {
      outcome.held = false;
      outcome.detail = "key " + Quote(c.key) + " is " + VersionText(current) + ", expected " + expected;
      break;
    }
  }
  if (outcome.held && IsExpiryWriter(command.writer) && command.compares.size() == 1 &&
      command.then_writes.size() == 1 && !command.then_writes.front().value) {
    expired_in_batch_.emplace_back(batch.size(), command.compares.front().version);
  }
  for (const CommandWrite& w : outcome.held ? command.then_writes : command.else_writes) {
    batch.push_back(Mutation{w.key, w.value, offset});
  }
  if (window != nullptr) {
    window->last = offset;
    window->seen.emplace(command.seq, outcome);
    NoteDedup(command.writer, command.seq, &outcome);
    NoteDedupLast(command.writer, offset);
    if (window->seen.size() > kDedupWindow) {
      NoteDedup(command.writer, window->seen.begin()->first, nullptr);
      window->seen.erase(window->seen.begin());
    }
    KVLOG_CHECK_LE(window->seen.size(), kDedupWindow) << "the dedup window of " << command.writer << " overflowed";
  }
  return outcome;
}

}  // namespace kvlog::kv::internal
