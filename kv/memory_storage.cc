#include "kv/memory_storage.h"

#include <mutex>
#include <shared_mutex>

#include "absl/container/btree_map.h"

namespace kvlog::kv {
namespace {

// A B-tree keeps keys ordered for Range and is far more cache-friendly than
// std::map for point reads. The lock is an OS lock on purpose: no critical
// section here blocks or yields, so it is safe under the fiber runtime too.
class MemoryStorage final : public Storage {
 public:
  std::optional<std::string> Get(std::string_view key) const override {
    std::shared_lock lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

  void Set(std::string_view key, std::string_view value) override {
    std::unique_lock lock(mu_);
    SetLocked(key, value);
  }

  void Delete(std::string_view key) override {
    std::unique_lock lock(mu_);
    map_.erase(key);
  }

  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options) const override {
    std::vector<KeyValue> out;
    std::shared_lock lock(mu_);
    auto it = map_.lower_bound(range.start);
    auto end = range.end ? map_.lower_bound(*range.end) : map_.end();
    for (; it != end; ++it) {
      if (options.limit != 0 && out.size() >= options.limit) break;
      out.push_back(KeyValue{it->first, it->second});
    }
    return out;
  }

  std::size_t Size() const override {
    std::shared_lock lock(mu_);
    return map_.size();
  }

  void Apply(std::span<const Mutation> batch) override {
    std::unique_lock lock(mu_);
    for (const Mutation& m : batch) {
      if (m.value.has_value()) {
        SetLocked(m.key, *m.value);
      } else {
        map_.erase(m.key);
      }
    }
  }

 private:
  void SetLocked(std::string_view key, std::string_view value) {
    auto [it, inserted] = map_.try_emplace(std::string(key));
    it->second.assign(value);
  }

  mutable std::shared_mutex mu_;
  absl::btree_map<std::string, std::string, std::less<>> map_;
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

}  // namespace kvlog::kv
