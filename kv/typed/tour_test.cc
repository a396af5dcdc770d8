// The typed tour of kv/typed/README.md, as a test: if this stops compiling or
// passing, the README is wrong.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/typed/hooks.h"
#include "kv/typed/json_serde.h"
#include "kv/typed/resource_client.h"
#include "log/sim/broker.h"

namespace tour {

// --- README: types ---
struct User {
  std::string name;
  std::string email;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(User, name, email)

struct Account {
  std::string owner;  // A user's key.
  int64_t balance_cents = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, owner, balance_cents)
// --- end ---

namespace {

using namespace kvlog;
using kv::typed::JsonSerde;
using kv::typed::ResourceClient;

TEST(TypedTour, UsersAndAccounts) {
  // --- README: hooks ---
  std::mutex mu;
  std::map<std::string, std::string> user_by_email;  // Guarded by mu.

  kv::ClientOptions options;
  options.on_set = kv::typed::WrapOnSet<User>(
      "users/", JsonSerde<User>{},
      [&](std::string_view key, const User& user, log::Offset) {
        std::lock_guard lock(mu);
        user_by_email[user.email] = std::string(key);
      },
      options.logger);
  // --- end ---

  // --- README: open ---
  log::sim::Broker broker;  // Or a log::kafka connection: the typed layer does not care.
  auto client = kv::Client::Open(broker.Connect(), kv::NewMemoryStorage(), options);
  ASSERT_TRUE(client.has_value()) << client.error().ToString();

  ResourceClient users(**client, JsonSerde<User>{});
  ResourceClient accounts(**client, JsonSerde<Account>{});
  // --- end ---

  // --- README: use ---
  ASSERT_TRUE(users.Put("users/ada", User{"Ada", "ada@example.com"}));
  ASSERT_TRUE(users.Put("users/bob", User{"Bob", "bob@example.com"}));
  ASSERT_TRUE(accounts.Put("accounts/1", Account{"users/ada", 10'000}));
  ASSERT_TRUE(accounts.Put("accounts/2", Account{"users/bob", 0}));

  // A transfer: both accounts in one batch, one wait.
  Account from = accounts.Get("accounts/1").value();
  Account to = accounts.Get("accounts/2").value();
  from.balance_cents -= 2'500;
  to.balance_cents += 2'500;
  ASSERT_TRUE(accounts.Batch().Put("accounts/1", from).Put("accounts/2", to).Execute());

  // Keep the Result in a variable: a range-for over `accounts.Prefix(...).value()`
  // would iterate a vector that died with its temporary Result.
  auto all = accounts.Prefix("accounts/");
  ASSERT_TRUE(all) << all.error().ToString();
  for (const auto& [key, account] : *all) {
    fmt::print("{}: {} has {} cents\n", key, account.owner, account.balance_cents);
  }
  // --- end ---
  EXPECT_EQ(accounts.Get("accounts/1").value().balance_cents, 7'500);
  EXPECT_EQ(accounts.Get("accounts/2").value().balance_cents, 2'500);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(user_by_email["bob@example.com"], "users/bob");
  }

  // --- README: errors ---
  ASSERT_TRUE(users.raw().Put("users/eve", "not json"));  // Bytes written by someone else.
  auto eve = users.Get("users/eve");
  // eve.error(): Corrupt: get: value at key "users/eve" does not decode: json: [json.exception.parse_error.101] ...
  auto everyone = users.Prefix("users/");
  // everyone.error(): Corrupt: prefix: value at key "users/eve" does not decode: ...
  // --- end ---
  ASSERT_FALSE(eve.has_value());
  EXPECT_EQ(eve.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(eve.error().message().find("value at key \"users/eve\" does not decode"), std::string::npos);
  ASSERT_FALSE(everyone.has_value());
  EXPECT_NE(everyone.error().message().find("prefix: value at key \"users/eve\""), std::string::npos);
}

}  // namespace
}  // namespace tour
