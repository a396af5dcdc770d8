#include "kv/memory_storage.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <shared_mutex>

#include <sys/mman.h>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

#include "kv/locked_reads.h"

namespace kvlog::kv {
namespace {

// A key and its value in one allocation, so a point read touches a single
// block once the index has found it. The value is rewritten in place while it
// fits; a larger value moves the pair to a new block.
class Entry {
 public:
  static Entry* New(std::string_view key, std::string_view value, Version version) {
    const std::size_t capacity = RoundUp(value.size());
    void* block = std::malloc(sizeof(Entry) + key.size() + capacity);
    if (block == nullptr) throw std::bad_alloc();
    auto* e = new (block) Entry(static_cast<uint32_t>(key.size()), static_cast<uint32_t>(capacity));
    std::memcpy(e->data_, key.data(), key.size());
    e->Assign(value, version);
    return e;
  }
  static void Delete(Entry* e) { std::free(e); }

  std::string_view key() const { return {data_, key_size_}; }
  std::string_view value() const { return {data_ + key_size_, value_size_}; }
  Version version() const { return version_; }
  bool Fits(std::string_view value) const { return value.size() <= capacity_; }
  void Assign(std::string_view value, Version version) {
    std::memcpy(data_ + key_size_, value.data(), value.size());
    value_size_ = static_cast<uint32_t>(value.size());
    version_ = version;
  }

 private:
  Entry(uint32_t key_size, uint32_t capacity) : key_size_(key_size), capacity_(capacity) {}
  static std::size_t RoundUp(std::size_t n) { return (n + 15) & ~std::size_t{15}; }

  Version version_ = kNoVersion;
  uint32_t key_size_;
  uint32_t value_size_ = 0;
  uint32_t capacity_;
  char data_[];  // key, then value
};

// The point-read index holds each entry's hash beside its pointer, so growing
// the table never reads the (cold) entries to rehash them, and a probe
// compares the hash before it reads an entry's key.
struct IndexSlot {
  std::size_t hash;
  // Mutable: an entry that moves to a larger block is repointed in its slot
  // (its key, and so its hash and place, stay the same).
  mutable Entry* entry;
};

// A key to look up with its hash, computed once.
struct HashedKey {
  std::string_view key;
  std::size_t hash;
};

struct IndexHash {
  using is_transparent = void;
  static std::size_t Of(std::string_view key) { return absl::Hash<std::string_view>{}(key); }
  std::size_t operator()(std::string_view key) const { return Of(key); }
  std::size_t operator()(const HashedKey& key) const { return key.hash; }
  std::size_t operator()(const IndexSlot& slot) const { return slot.hash; }
};

// Slots and hashed keys compare their full hashes first: a probe for a key
// not in the table (every key of a first replay) meets slots whose 7 control
// bits match by chance (about one probe in twelve at this table's load), and
// reading such a slot's entry, a cache miss on a large store, was a third of
// SetLocked's samples in a replay of 1 M keys.
struct IndexEq {
  using is_transparent = void;
  bool operator()(const IndexSlot& a, const IndexSlot& b) const {
    return a.hash == b.hash && a.entry->key() == b.entry->key();
  }
  bool operator()(const IndexSlot& a, const HashedKey& b) const { return a.hash == b.hash && a.entry->key() == b.key; }
  bool operator()(const HashedKey& a, const IndexSlot& b) const { return (*this)(b, a); }
  bool operator()(const IndexSlot& a, std::string_view b) const { return a.entry->key() == b; }
  bool operator()(std::string_view a, const IndexSlot& b) const { return a == b.entry->key(); }
};

// The hash index's memory. Its table is the one large block of the store
// that is read at random (a replay of 1 M keys: 34 MB, a probe of each new
// key into any part of it), so a block of kHugePage or more is mapped on its
// own and asked for transparent huge pages: in 4 KB pages nearly every
// probe's prefetch also missed the TLB and walked the page table, and the
// replay stalled on those prefetches. Smaller blocks come from the heap.
template <typename T>
struct IndexAllocator {
  using value_type = T;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  IndexAllocator() = default;
  template <typename U>
  IndexAllocator(const IndexAllocator<U>&) {}  // NOLINT: rebinding, as std::allocator does.

  static std::size_t Mapped(std::size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    // Over-map by a huge page and trim, so the block starts on one.
    const std::size_t size = Mapped(bytes);
    void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    if (const std::uintptr_t tail = start + size + kHugePage - (aligned + size); tail > 0) {
      ::munmap(reinterpret_cast<void*>(aligned + size), tail);
    }
    ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // Advice: without it, 4 KB pages.
    return reinterpret_cast<T*>(aligned);
  }

  void deallocate(T* p, std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      ::operator delete(p);
    } else {
      ::munmap(p, Mapped(bytes));
    }
  }

  friend bool operator==(const IndexAllocator&, const IndexAllocator&) { return true; }
};

using Index = absl::flat_hash_set<IndexSlot, IndexHash, IndexEq, IndexAllocator<IndexSlot>>;

// Two indexes over the same entries: a hash table for point reads (one probe
// instead of a B-tree descent of ~20 key comparisons: 0.59 M -> 1.5 M Gets/s
// at 1 M keys) and a B-tree for Range. The B-tree keeps its own copy of each
// key (inline for keys up to 15 bytes), so inserts and scans compare keys
// within its nodes instead of chasing a pointer per comparison.
//
// Invariants, under mu_: by_key_ and ordered_ hold the same entries; every
// entry is owned here and freed exactly once, when its key is deleted, when it
// moves to a larger block, or in the destructor.
//
// Reads take the shared lock of LockedReads (an OS lock on purpose: no
// critical section here blocks or yields, so it is safe under the fiber
// runtime too).
class MemoryStorage final : public LockedReads<MemoryStorage, Storage> {
 public:
  ~MemoryStorage() override {
    for (auto& [key, entry] : ordered_) Entry::Delete(entry);
  }

  std::optional<VersionedValue> GetEntryLocked(std::string_view key) const {
    auto it = Find(key);
    if (it == by_key_.end()) return std::nullopt;
    return VersionedValue{std::string(it->entry->value()), it->entry->version()};
  }

  bool GetLocked(std::string_view key, std::string* value) const {
    auto it = Find(key);
    if (it == by_key_.end()) return false;
    value->assign(it->entry->value());
    return true;
  }

  // A lone Get waits for two dependent cache misses (the table, then the
  // entry: about 300 ns each on a cold 1 M-key store here); a group of lookups
  // issues every group member's misses before it waits on any of them.
  void MultiGet(std::span<const std::string_view> keys, std::span<std::optional<std::string>> values) const override {
    constexpr std::size_t kGroup = 16;
    std::shared_lock lock(mu_);
    for (std::size_t base = 0; base < keys.size(); base += kGroup) {
      const std::size_t n = std::min(kGroup, keys.size() - base);
      for (std::size_t i = 0; i < n; ++i) by_key_.prefetch(keys[base + i]);
      const Entry* found[kGroup];
      for (std::size_t i = 0; i < n; ++i) {
        auto it = Find(keys[base + i]);
        found[i] = it == by_key_.end() ? nullptr : it->entry;
        if (found[i] != nullptr) __builtin_prefetch(found[i]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        std::optional<std::string>& out = values[base + i];
        if (found[i] == nullptr) {
          out.reset();
        } else if (out) {
          out->assign(found[i]->value());
        } else {
          out.emplace(found[i]->value());
        }
      }
    }
  }

  using Storage::Set;
  void Set(std::string_view key, std::string_view value, Version version) override {
    std::unique_lock lock(mu_);
    SetLocked(HashedKey{key, IndexHash::Of(key)}, value, version);
  }

  void Delete(std::string_view key) override {
    std::unique_lock lock(mu_);
    DeleteLocked(HashedKey{key, IndexHash::Of(key)});
  }

  std::vector<KeyValue> RangeLocked(const KeyConstraint& range, const QueryOptions& options) const {
    std::vector<KeyValue> out;
    if (range.end && *range.end <= range.start) return out;  // Empty: iterating would run past end.
    auto first = ordered_.lower_bound(range.start);
    auto end = range.end ? ordered_.lower_bound(*range.end) : ordered_.end();
    auto take = [&](const auto& pair) {
      if (options.limit != 0 && out.size() >= options.limit) return false;
      out.push_back(KeyValue{pair.first, std::string(pair.second->value()),
                             options.versions ? pair.second->version() : kNoVersion});
      return true;
    };
    if (options.reverse) {
      for (auto it = end; it != first;) {
        if (!take(*--it)) break;
      }
    } else {
      for (auto it = first; it != end; ++it) {
        if (!take(*it)) break;
      }
    }
    return out;
  }

  std::size_t Size() const override {
    std::shared_lock lock(mu_);
    return by_key_.size();
  }

  // Sizes the hash index for `keys` more keys, at most kMaxReserve in all:
  // growing it by doubling to 1 M keys moved every slot about twice, into
  // fresh memory each time, with the old tables given back to the system.
  // Reserve(0) shrinks an index whose reservation went mostly unused (a log
  // that wrote few keys many times).
  void Reserve(std::size_t keys) override {
    std::unique_lock lock(mu_);
    if (keys == 0) {
      if (reserved_ && by_key_.size() < by_key_.capacity() / 4) by_key_.rehash(0);
      reserved_ = false;
      return;
    }
    by_key_.reserve(by_key_.size() + std::min(keys, kMaxReserve));  // No-op if it has room already.
    reserved_ = true;
  }

  void Apply(std::span<const Mutation> batch) override {
    std::unique_lock lock(mu_);
    ApplyLocked(batch);
  }

  // The batch and the position move together: a positioned read sees both
  // or neither.
  void Apply(std::span<const Mutation> batch, int64_t position) override {
    std::unique_lock lock(mu_);
    ApplyLocked(batch);
    position_ = position;
  }

 private:
  Index::const_iterator Find(std::string_view key) const { return by_key_.find(HashedKey{key, IndexHash::Of(key)}); }

  void ApplyLocked(std::span<const Mutation> batch) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      // The hash probe of a key not in cache (a replay of 1 M keys: most of
      // them) waits on memory; fetching the probe's group a few mutations
      // ahead overlaps those waits. (By the key alone: gcc 12 dropped the
      // prefetch of a HashedKey, whose hash would have been reused.)
      if (i + kPrefetchAhead < batch.size()) by_key_.prefetch(std::string_view(batch[i + kPrefetchAhead].key));
      const Mutation& m = batch[i];
      const HashedKey key{m.key, IndexHash::Of(m.key)};
      if (m.value.has_value()) {
        SetLocked(key, *m.value, m.version);
      } else {
        DeleteLocked(key);
      }
    }
  }

  void SetLocked(const HashedKey& key, std::string_view value, Version version) {
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      Entry* old = it->entry;
      if (old->Fits(value)) {
        old->Assign(value, version);
        return;
      }
      Entry* moved = Entry::New(key.key, value, version);
      it->entry = moved;
      ordered_.find(key.key)->second = moved;
      Entry::Delete(old);
      return;
    }
    Entry* entry = Entry::New(key.key, value, version);
    by_key_.insert(IndexSlot{key.hash, entry});
    // Hinted at the end: a key above every stored one (a replay of keys
    // written in ascending order, such as ids or timestamps) goes in with two
    // comparisons instead of a descent of ~20 at 1 M keys, which was the
    // replay's largest cost (memcmp under SetLocked); any other key costs one
    // comparison more than a plain emplace.
    ordered_.emplace_hint(ordered_.end(), key.key, entry);
  }

  void DeleteLocked(const HashedKey& key) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    Entry* entry = it->entry;
    by_key_.erase(it);
    ordered_.erase(key.key);
    Entry::Delete(entry);
  }

  // How many mutations ahead ApplyLocked prefetches a key's hash probe.
  static constexpr std::size_t kPrefetchAhead = 8;
  // The most keys one Reserve sizes the index for (~70 MB of table): a log
  // that writes few keys many times must not cost more than that until the
  // replay ends and Reserve(0) gives it back.
  static constexpr std::size_t kMaxReserve = std::size_t{1} << 22;

  bool reserved_ = false;  // A Reserve sized the index; Reserve(0) may shrink it.

  Index by_key_;
  absl::btree_map<std::string, Entry*, std::less<>> ordered_;
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

}  // namespace kvlog::kv
