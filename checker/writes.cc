#include "checker/writes.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <thread>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace kvlog::checker {
namespace {

bool IsWriteFunction(FunctionName f) {
  using F = FunctionName;
  return f == F::kPut || f == F::kWrite || f == F::kDelete || f == F::kCas || f == F::kAppend;
}

// The value's name (Value::ToString), made in place.
OptionalString NameOf(const Value& v) { return v.is_string() ? OptionalString(v.as_string()) : OptionalString(v.ToString()); }

OptionalString WrittenValue(FunctionName f, const Value& v) {
  if (f == "delete") return std::nullopt;
  if (f == "cas") {
    if (v.is_list() && v.items().size() == 2 && !v.items()[1].is_nil()) return NameOf(v.items()[1]);
    return std::nullopt;
  }
  if (v.is_nil()) return std::nullopt;
  return NameOf(v);
}

}  // namespace

std::string WriteIndex::KvName(const std::string& key, const std::string& value) {
  std::string s = key;
  s += '\0';
  s += value;
  return s;
}

// Calls fn with the KvName of (key, value), built on the stack when it is
// short: lookups then allocate nothing (kv_ hashes string_views as strings;
// Debian's absl has its own string_view, hence absl::string_view).
template <typename Fn>
static auto WithKvName(std::string_view key, std::string_view value, Fn&& fn) {
  char buf[96];
  const size_t n = key.size() + 1 + value.size();
  if (n <= sizeof buf) {
    std::memcpy(buf, key.data(), key.size());
    buf[key.size()] = '\0';
    std::memcpy(buf + key.size() + 1, value.data(), value.size());
    return fn(absl::string_view(buf, n));
  }
  std::string name(key);
  name += '\0';
  name.append(value);
  return fn(absl::string_view(name));
}

void WriteIndex::KvTable::Grow(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  if (size <= buckets_.size()) return;
  buckets_.assign(size, 0);
  mask_ = size - 1;
  for (size_t i = 0; i < slots_.size(); ++i) {
    size_t b = slots_[i].hash & mask_;
    while (buckets_[b] != 0) b = (b + 1) & mask_;
    buckets_[b] = Tag(slots_[i].hash) | (i + 1);
  }
}

void WriteIndex::KvTable::Reserve(size_t n) {
  slots_.reserve(n);
  Grow(n);
}

WriteIndex::KvTable::Probe WriteIndex::KvTable::Lookup(absl::string_view name, size_t hash) const {
  const uint64_t tag = Tag(hash);
  size_t b = hash & mask_;
  for (; buckets_[b] != 0; b = (b + 1) & mask_) {
    const uint64_t bucket = buckets_[b];
    if ((bucket & ~uint64_t{0xffffffff}) != tag) continue;
    const auto i = static_cast<uint32_t>((bucket & 0xffffffff) - 1);
    if (slots_[i].hash == hash && absl::string_view(slots_[i].name) == name) return {i, b};
  }
  return {kNone, b};
}

uint32_t WriteIndex::KvTable::Insert(absl::string_view name, size_t hash) {
  if (2 * (slots_.size() + 1) > buckets_.size()) Grow(2 * slots_.size() + 1);
  const Probe found = Lookup(name, hash);
  if (found.index != kNone) return found.index;
  const auto i = static_cast<uint32_t>(slots_.size());
  slots_.push_back(Slot{hash, std::string(name), KvEntry{}});
  buckets_[found.bucket] = Tag(hash) | (uint64_t{i} + 1);
  return i;
}

uint32_t WriteIndex::KvTable::Find(absl::string_view name, size_t hash) const {
  return buckets_.empty() ? kNone : Lookup(name, hash).index;
}

// Appends the writes of ops[begin, end) to `writes`, in order.
static void AddWrites(const std::vector<Operation>& ops, size_t begin, size_t end, std::vector<Write>& writes) {
  static const std::string kNoKey;
  for (size_t op = begin; op < end; ++op) {
    const Operation& o = ops[op];
    auto add = [&](FunctionName f, std::string_view key, const Value& v, OptionalInt offset) {
      Write& w = writes.emplace_back();
      w.op = o.index;
      w.f = f;
      w.key = key;
      w.value = WrittenValue(f, v);
      w.op_id = o.op ? &o.op : nullptr;
      w.offset = offset;
      const bool compare_failed = o.result && !*o.result;
      w.definite = o.ok() && !compare_failed;
      w.possible = o.info() || (o.ok() && compare_failed);
    };
    const size_t first_of_op = writes.size();
    if (IsWriteFunction(o.f)) {
      add(o.f, o.key ? *o.key : kNoKey, o.input, o.offset);
    } else if (o.f == "batch") {
      // The completion may add each sub-operation's offset.
      const Value& batch = o.ok() && o.output.is_list() ? o.output : o.input;
      const size_t n = batch.is_list() ? batch.items().size() : 0;
      for (size_t i = 0; i < n; ++i) {
        const Value& sub = batch.items()[i];
        if (!sub.is_map()) continue;
        const Value* f = sub.Find("f");
        const Value* key = sub.Find("key");
        const Value* value = sub.Find("value");
        const Value* offset = sub.Find("offset");
        if (!f || !key) continue;
        const FunctionName fname(FunctionName::KnownCode(f->ToString()));
        if (!IsWriteFunction(fname)) continue;
        // (INT64_MIN, OptionalInt's absent, reads as no offset reported.)
        OptionalInt off;
        if (offset && offset->is_int() && offset->as_int() != OptionalInt::kAbsent) off = offset->as_int();
        add(fname, key->ToString(), value ? *value : Value(), off);
      }
    }
    // Number the writes of this operation that share a key and value (a
    // single write is ordinal 0 of 1, as initialised).
    if (writes.size() - first_of_op < 2) continue;
    for (size_t i = first_of_op; i < writes.size(); ++i) {
      for (size_t j = first_of_op; j < i; ++j) {
        if (writes[j].key == writes[i].key && writes[j].value == writes[i].value) {
          writes[i].ordinal = writes[j].ordinal + 1;
        }
      }
    }
    for (size_t i = first_of_op; i < writes.size(); ++i) {
      for (size_t j = first_of_op; j < writes.size(); ++j) {
        if (writes[j].key == writes[i].key && writes[j].value == writes[i].value) {
          writes[i].same = std::max(writes[i].same, writes[j].ordinal + 1);
        }
      }
    }
  }
}

WriteIndex::WriteIndex(const History& history, const std::vector<Operation>& ops, int threads,
                       size_t parallel_min_ops, const std::function<void()>& writes_made)
    : history_(history) {
  const bool parallel = threads >= 2 && ops.size() >= parallel_min_ops;
  // The writes, with two threads in two halves of the operations (a pass
  // over every 152-byte operation, each written value's string copied):
  // the later half's are appended to the earlier's, so the order is the
  // same.
  // Each write's KvName hash is computed beside it (the kv table's inserts
  // below want them ahead of the write they insert).
  auto hash_writes = [](const std::vector<Write>& writes, std::vector<size_t>& hashes) {
    hashes.resize(writes.size());
    for (size_t i = 0; i < writes.size(); ++i) {
      const Write& w = writes[i];
      if (w.value) hashes[i] = WithKvName(w.key, *w.value, [](absl::string_view name) { return KvTable::HashOf(name); });
    }
  };
  std::vector<size_t> hashes;
  writes_.reserve(ops.size());
  if (parallel) {
    std::vector<Write> later;
    std::vector<size_t> later_hashes;
    const size_t mid = ops.size() / 2;
    std::thread worker([&] {
      later.reserve(ops.size() - mid);
      AddWrites(ops, mid, ops.size(), later);
      hash_writes(later, later_hashes);
    });
    AddWrites(ops, 0, mid, writes_);
    hash_writes(writes_, hashes);
    worker.join();
    if (writes_made) writes_made();
    writes_.insert(writes_.end(), std::make_move_iterator(later.begin()), std::make_move_iterator(later.end()));
    hashes.insert(hashes.end(), later_hashes.begin(), later_hashes.end());
  } else {
    AddWrites(ops, 0, ops.size(), writes_);
    if (writes_made) writes_made();
    hash_writes(writes_, hashes);
  }
  // Size the (key, value) table by what will go in it: the writes that name a
  // value; log records of the same names add nothing.
  size_t named = 0, deletes_with_ids = 0;
  for (const Write& w : writes_) {
    named += w.value.has_value();
    deletes_with_ids += !w.value && w.op_id;
  }
  kv_.Reserve(named);
  tombstones_.Reserve(deletes_with_ids);
  // Writes whose completion reported an offset, with their entry: the log
  // pass finds most records' entries here by offset, without hashing.
  struct Reported {
    int64_t offset;
    uint32_t write;
    uint32_t entry;
  };
  std::vector<Reported> reported;
  reported.reserve(named);
  // Each insert probes a table of up to a million entries at random: a
  // cache miss or two. The names' hashes are computed first, and the
  // table's slots for the write kPrefetch ahead are requested while this one
  // is inserted, so the misses overlap instead of following one another.
  constexpr size_t kPrefetch = 16;
  std::vector<uint32_t> write_entry(writes_.size(), KvTable::kNone);
  for (size_t i = 0; i < writes_.size(); ++i) {
    if (i + kPrefetch < writes_.size() && writes_[i + kPrefetch].value) kv_.Prefetch(hashes[i + kPrefetch]);
    const Write& w = writes_[i];
    if (!w.value) {
      // A delete (or a cas to nil) with an op id: its tombstone is found
      // by (key, op id) in the log pass, for the link below.
      if (w.op_id) {
        const uint32_t d = WithKvName(w.key, **w.op_id, [&](absl::string_view name) { return tombstones_.Insert(name); });
        if (tombstones_[d].invoked++ == 0) tombstones_[d].first_write = static_cast<uint32_t>(i);
      }
      continue;
    }
    const uint32_t entry =
        WithKvName(w.key, *w.value, [&](absl::string_view name) { return kv_.Insert(name, hashes[i]); });
    write_entry[i] = entry;
    KvEntry& e = kv_[entry];
    if (e.invoked++ == 0) {
      e.first_write = static_cast<uint32_t>(i);
    } else if (!repeated_) {
      repeated_ = {e.first_write, i};
    }
    if (w.offset && w.definite) e.reported = *w.offset;
    if (w.offset) reported.push_back({*w.offset, static_cast<uint32_t>(i), entry});
  }
  // Completions come nearly in offset order; sort only when they do not.
  auto by_offset = [](const Reported& a, const Reported& b) { return a.offset < b.offset; };
  if (!std::is_sorted(reported.begin(), reported.end(), by_offset)) {
    std::sort(reported.begin(), reported.end(), by_offset);
  }
  size_t cursor = 0;
  linked_.assign(writes_.size(), -1);
  record_linked_.assign(history.log.size(), false);
  record_op_shown_.assign(history.log.size(), false);
  bool unlinked_op_ids = false;
  // Only a cas record whose condition held changes its key's state: the fold
  // keeps what each key holds, but only when the log has cas records.
  const bool has_cas = std::any_of(history.log.begin(), history.log.end(), [](const LogRecord& r) { return r.f == "cas"; });
  if (has_cas) {
    absl::flat_hash_map<std::string, std::string> holds;
    record_applied_.assign(history.log.size(), true);
    for (size_t i = 0; i < history.log.size(); ++i) {
      const LogRecord& r = history.log[i];
      auto it = holds.find(r.key);
      const bool applied =
          r.f != "cas" || (r.expected ? (it != holds.end() && it->second == *r.expected) : it == holds.end());
      if (applied && r.value) {
        holds[r.key] = *r.value;
      } else if (applied && it != holds.end()) {
        holds.erase(it);
      }
      record_applied_[i] = applied;
    }
  }
  // Each key's records (those that took effect): with two threads, built
  // on a worker beside the log pass below, which does not read them.
  auto by_key = [this, &history] {
    for (size_t i = 0; i < history.log.size(); ++i) {
      const LogRecord& r = history.log[i];
      if (RecordApplied(i)) log_by_key_[r.key].push_back(KeyRecord{r.offset, i});
    }
  };
  std::thread by_key_worker;
  if (parallel) {
    by_key_worker = std::thread(by_key);
  } else {
    by_key();
  }
  for (size_t i = 0; i < history.log.size(); ++i) {
    const LogRecord& r = history.log[i];
    const bool applied = RecordApplied(i);
    uint32_t matched = KvTable::kNone;  // the write found by its reported offset
    // A record that did not take effect (a cas whose condition failed) is no
    // copy of its write: the (key, value) table leaves it out (op ids still
    // find it).
    if (r.value && applied) {
      // A write that reported this offset with this key and value has this
      // record's name, hence its entry. Otherwise (not reported, misplaced, or
      // a log out of offset order) look the name up.
      uint32_t entry = KvTable::kNone;
      while (cursor < reported.size() && reported[cursor].offset < r.offset) ++cursor;
      for (size_t k = cursor; k < reported.size() && reported[k].offset == r.offset; ++k) {
        const Write& w = writes_[reported[k].write];
        if (w.key == r.key && *w.value == *r.value) {
          entry = reported[k].entry;
          matched = reported[k].write;
          break;
        }
      }
      if (entry == KvTable::kNone) {
        entry = WithKvName(r.key, *r.value, [&](absl::string_view name) { return kv_.Insert(name); });
        // Not found by a reported offset (a batch's sub-operations report
        // none on kvsim's histories): the one write of this key and value,
        // if only one was invoked, is the record's candidate for the link.
        if (r.op && kv_[entry].invoked == 1) matched = kv_[entry].first_write;
      }
      KvEntry& e = kv_[entry];
      if (e.log_count++ == 0) {
        e.log_first = r.offset;
        e.log_first_index = static_cast<uint32_t>(i);
      } else {
        auto& dups = log_dups_[entry];
        if (dups.empty()) dups.push_back(e.log_first_index);
        dups.push_back(i);
      }
    } else if (!r.value && r.op) {
      // A tombstone with an op id: its candidate is the one write without a
      // value of this key and op id, if only one was invoked (with two,
      // LogRecords gives the record to each).
      const uint32_t d = WithKvName(r.key, *r.op, [&](absl::string_view name) { return tombstones_.Find(name); });
      if (d != KvTable::kNone && tombstones_[d].invoked == 1) matched = tombstones_[d].first_write;
    }
    // A candidate is the only write LogRecords could give this record to
    // through the op-id tables (the same op id, key and value, or none): with
    // no repeated values, one write names a (key, value); the tombstones'
    // table counts the deletes of a (key, op id). Write::same 1: no other
    // write of its operation shares it.
    if (r.op && matched != KvTable::kNone && !repeated_) {
      const Write& w = writes_[matched];
      if (w.op_id && *w.op_id == *r.op && w.key == r.key && w.value == r.value && w.same == 1 &&
          linked_[matched] < 0) {
        linked_[matched] = static_cast<int64_t>(i);
        record_linked_[i] = true;
      }
    }
    if (r.op && !record_linked_[i]) {
      // RecordOpInvoked: a write of this record's key and value (or a delete
      // of its key) carrying its op id shows that an operation was invoked
      // with it; only a record nothing shows it for needs the set of every
      // operation's id (a batch deleting one key twice leaves its records
      // unlinked, and one such record built that set of 800 K ids).
      const Write* w = nullptr;
      if (r.value) {
        const uint32_t e = WithKvName(r.key, *r.value, [&](absl::string_view name) { return kv_.Find(name); });
        if (e != KvTable::kNone && kv_[e].invoked > 0) w = &writes_[kv_[e].first_write];
      } else {
        const uint32_t d = WithKvName(r.key, *r.op, [&](absl::string_view name) { return tombstones_.Find(name); });
        if (d != KvTable::kNone && tombstones_[d].invoked > 0) w = &writes_[tombstones_[d].first_write];
      }
      if (w && w->op_id && *w->op_id == *r.op) {
        record_op_shown_[i] = true;
      } else {
        unlinked_op_ids = true;
      }
      const absl::string_view id(r.op->data(), r.op->size());
      auto [it, inserted] = log_by_op_.try_emplace(id, i);
      if (!inserted) {
        auto& more = log_op_more_[id];
        if (more.empty()) more.push_back(it->second);
        more.push_back(i);
      }
    }
  }
  // Each write's version, from its entry (entries were made in write order:
  // this pass reads them nearly in order).
  write_version_.resize(writes_.size());
  for (size_t i = 0; i < writes_.size(); ++i) {
    if (write_entry[i] == KvTable::kNone) continue;
    const KvEntry& e = kv_[write_entry[i]];
    if (e.log_count > 0) {
      write_version_[i] = e.log_first;
    } else if (e.reported >= 0) {
      write_version_[i] = e.reported;
    }
  }
  if (unlinked_op_ids) {
    invoked_op_.reserve(ops.size());
    for (const Operation& o : ops) {
      if (o.op) invoked_op_.insert(absl::string_view(o.op->data(), o.op->size()));
    }
  }
  if (by_key_worker.joinable()) by_key_worker.join();
}

std::vector<size_t> WriteIndex::LogRecords(const Write& w) const {
  if (w.op_id) {
    const std::string_view op_id = **w.op_id;
    const absl::string_view id(op_id.data(), op_id.size());
    // `w` is one of writes_ (writes() hands out references into it).
    const int64_t linked = linked_[static_cast<size_t>(&w - writes_.data())];
    auto it = log_by_op_.find(id);
    if (it == log_by_op_.end() && linked >= 0) return {static_cast<size_t>(linked)};
    if (it != log_by_op_.end()) {
      // A batch, a transaction or Update's attempts share one op id: keep
      // the records of this key and value, and of those the ones this write
      // owns (see Write::ordinal). Each record is judged itself, never
      // through its offset: an atomic batch's records share one. A linked
      // record is this write's alone (Write::same is 1): it goes in among
      // them in log order.
      std::vector<size_t> out;
      if (linked >= 0) out.push_back(static_cast<size_t>(linked));
      size_t matching = 0;
      const size_t single[] = {it->second};
      std::span<const size_t> records(single);
      if (auto more = log_op_more_.find(id); more != log_op_more_.end()) records = more->second;
      for (size_t i : records) {
        const LogRecord& r = history_.log[i];
        if (r.key == w.key && r.value == w.value) {
          if (matching % w.same == w.ordinal) out.push_back(i);
          ++matching;
        }
      }
      if (linked >= 0) std::sort(out.begin(), out.end());
      if (!out.empty()) return out;
    }
  }
  if (w.value) {
    const uint32_t entry = WithKvName(w.key, *w.value, [&](absl::string_view name) { return kv_.Find(name); });
    if (entry == KvTable::kNone || kv_[entry].log_count == 0) return {};
    if (kv_[entry].log_count == 1) return {kv_[entry].log_first_index};
    return log_dups_.at(entry);
  }
  // A delete without an op id: only its reported offset can name it, among
  // the records at that offset (an atomic batch's share one).
  if (w.offset) {
    auto rit = std::lower_bound(history_.log.begin(), history_.log.end(), *w.offset,
                                [](const LogRecord& a, int64_t b) { return a.offset < b; });
    for (; rit != history_.log.end() && rit->offset == *w.offset; ++rit) {
      if (rit->key == w.key && !rit->value) return {static_cast<size_t>(rit - history_.log.begin())};
    }
  }
  return {};
}

std::optional<int64_t> WriteIndex::VersionOf(std::string_view key, std::string_view value) const {
  const uint32_t entry = WithKvName(key, value, [&](absl::string_view name) { return kv_.Find(name); });
  if (entry == KvTable::kNone) return std::nullopt;
  const KvEntry& e = kv_[entry];
  if (e.log_count > 0) return e.log_first;
  if (e.reported >= 0) return e.reported;
  return std::nullopt;
}

bool WriteIndex::Invoked(std::string_view key, std::string_view value) const {
  const uint32_t entry = WithKvName(key, value, [&](absl::string_view name) { return kv_.Find(name); });
  return entry != KvTable::kNone && kv_[entry].invoked > 0;
}

bool WriteIndex::RecordOpInvoked(size_t log_index) const {
  if (record_linked_[log_index] || record_op_shown_[log_index]) return true;
  const OptionalString& id = history_.log[log_index].op;
  return id && invoked_op_.contains(absl::string_view(id->data(), id->size()));
}

const LogRecord* WriteIndex::StateAt(const std::string& key, int64_t position) const {
  auto it = log_by_key_.find(key);
  if (it == log_by_key_.end()) return nullptr;
  const auto& idx = it->second;
  auto pos = std::lower_bound(idx.begin(), idx.end(), position,
                              [](const KeyRecord& r, int64_t p) { return r.offset < p; });
  if (pos == idx.begin()) return nullptr;
  return &history_.log[(pos - 1)->index];
}

}  // namespace kvlog::checker
