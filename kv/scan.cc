#include "kv/scan.h"

#include <algorithm>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace kvlog::kv {

Scan::Scan(const Client& client, KeyConstraint range, ScanOptions options)
    : client_(client), range_(std::move(range)), options_(options) {
  if (options_.page_size == 0 || options_.page_size > ScanOptions::kMaxPageSize) {
    status_ = MakeError(ErrorCode::kInvalidArgument, fmt::format("scan: page_size {} is outside 1..{}",
                                                                 options_.page_size, ScanOptions::kMaxPageSize));
    exhausted_ = true;
    return;
  }
  if (range_.end && *range_.end < range_.start) {
    status_ = MakeError(ErrorCode::kInvalidArgument, "scan: end sorts before start");
    exhausted_ = true;
    return;
  }
  ReadPage();
}

void Scan::Next() {
  if (!Valid()) return;
  ++at_;
  ++returned_;
  if (options_.limit != 0 && returned_ >= options_.limit) {
    page_.clear();
    at_ = 0;
    exhausted_ = true;
    return;
  }
  if (at_ == page_.size()) ReadPage();
}

void Scan::ReadPage() {
  page_.clear();
  at_ = 0;
  if (exhausted_) return;
  QueryOptions query;
  query.limit = options_.page_size;
  if (options_.limit != 0) query.limit = std::min(query.limit, options_.limit - returned_);
  query.versions = options_.versions;
  query.reverse = options_.reverse;
  ReadInfo info;
  Result<std::vector<KeyValue>> pairs = client_.Range(range_, query, &info);
  ++pages_;
  if (!pairs) {
    status_ = std::unexpected(pairs.error());
    exhausted_ = true;
    return;
  }
  page_ = std::move(*pairs);
  position_ = info.position;
  // Client::Range returns `limit` pairs unless the range has no more.
  if (page_.size() < query.limit || page_.empty()) {
    exhausted_ = true;
    return;
  }
  // The rest of the range: past the last key (forwards, the least key
  // greater than it is the key plus a zero byte), or below it (reverse).
  const std::string& last = page_.back().key;
  if (options_.reverse) {
    range_.end = last;
  } else {
    range_.start = last;
    range_.start.push_back('\0');
    if (range_.end && *range_.end <= range_.start) exhausted_ = true;
  }
}

}  // namespace kvlog::kv
