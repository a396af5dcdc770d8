// A lazy iterator over a key range, for ranges too large for one vector:
//
//   kv::Scan scan(*client, kv::Prefix("user/"), {.page_size = 500});
//   for (; scan.Valid(); scan.Next()) Use(scan.key(), scan.value());
//   if (!scan.status()) ...  // Why it stopped early (kClosed, ...).
//
// It reads the client's local store a page at a time (Client::Range with
// page_size as the limit, resuming after the last key it returned), so a
// forward scan holds at most one page in memory whatever the range's size.
//
// Consistency: a page at a time, not a snapshot. Each page is one local read,
// atomic with the applied position it was served at (position()); pages
// may be served at different positions. Keys come in strictly increasing
// order (decreasing with `reverse`), each at most once; a key written or
// deleted while the scan runs shows in a later page only if that page
// reaches it. No network call: the scan reads what this client has applied
// (for a linearizable start, Sync or AwaitReadLevel first).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kv/client.h"
#include "kv/storage.h"
#include "log/status.h"

namespace kvlog::kv {

struct ScanOptions {
  // Pairs read from the store per page: 1 to kMaxPageSize.
  std::size_t page_size = 1000;
  static constexpr std::size_t kMaxPageSize = 1'000'000;
  // Stop after this many pairs (0: the whole range).
  std::size_t limit = 0;
  // Fill version().
  bool versions = false;
  // Descending key order. Each page walks the store backwards from the last
  // key read, so a reverse scan also holds one page at a time.
  bool reverse = false;
};

class Scan {
 public:
  // Reads the first page. `client` must outlive the scan. Bad options or
  // range leave it not Valid with status() saying why (kInvalidArgument).
  Scan(const Client& client, KeyConstraint range, ScanOptions options = {});

  // Whether the iterator is at a pair. False at the end, or after an error.
  bool Valid() const { return at_ < page_.size(); }
  // Moves to the next pair, reading the next page when this one is used up.
  void Next();
  std::string_view key() const { return page_[at_].key; }
  std::string_view value() const { return page_[at_].value; }
  Version version() const { return page_[at_].version; }  // With ScanOptions::versions.
  // The applied position the current page was served at.
  log::Offset position() const { return position_; }
  // OK at the end of the range; the error that ended the scan otherwise.
  const Status& status() const { return status_; }
  // Pages read so far.
  std::size_t pages() const { return pages_; }

 private:
  void ReadPage();

  const Client& client_;
  KeyConstraint range_;  // What is left to read.
  ScanOptions options_;
  std::vector<KeyValue> page_;
  std::size_t at_ = 0;
  std::size_t returned_ = 0;
  std::size_t pages_ = 0;
  bool exhausted_ = false;  // The last page read was the range's last.
  log::Offset position_ = log::kNoOffset;
  Status status_;
};

}  // namespace kvlog::kv
