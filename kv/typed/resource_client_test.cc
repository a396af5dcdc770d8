// ResourceClient, typed hooks and JsonSerde over the simulated log.
#include "kv/typed/resource_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kv/memory_storage.h"
#include "kv/typed/hooks.h"
#include "kv/typed/json_serde.h"
#include "log/sim/broker.h"

namespace kvlog::kv::typed {

struct User {
  std::string name;
  std::string email;
  friend bool operator==(const User&, const User&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(User, name, email)

struct Account {
  std::string owner;
  int64_t balance_cents = 0;
  friend bool operator==(const Account&, const Account&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, owner, balance_cents)

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Log lines a client's logger received.
class CapturedLog {
 public:
  Logger logger() {
    return [this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mu_);
      lines_.push_back(std::string(LogLevelName(level)) + ": " + std::string(message));
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class TypedTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> Open(ClientOptions options = {}) {
    auto client = Client::Open(broker_.Connect(), NewMemoryStorage(), std::move(options));
    EXPECT_TRUE(client.has_value()) << client.error().ToString();
    return client ? std::move(*client) : nullptr;
  }

  log::sim::Broker broker_;
};

const User kAda{"Ada", "ada@example.com"};
const User kBob{"Bob", "bob@example.com"};

TEST(JsonSerdeTest, RoundTripsAndWritesPlainJson) {
  JsonSerde<User> serde;
  auto bytes = serde.Serialize(kAda);
  ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
  EXPECT_EQ(*bytes, R"({"email":"ada@example.com","name":"Ada"})");
  auto back = serde.Deserialize(*bytes);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, kAda);
}

TEST(JsonSerdeTest, RejectsMalformedJsonAndMissingFields) {
  JsonSerde<User> serde;
  auto malformed = serde.Deserialize("{\"name\": ");
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(malformed.error().message(), HasSubstr("parse error"));

  auto missing = serde.Deserialize(R"({"name":"Ada"})");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(missing.error().message(), HasSubstr("email"));
}

TEST(JsonSerdeTest, InvalidUtf8FailsToEncode) {
  auto bytes = JsonSerde<User>{}.Serialize(User{"\xff\xfe", "x"});
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(bytes.error().message(), HasSubstr("UTF-8"));
}

TEST(QuoteKeyTest, EscapesUnprintableBytesAndCutsLongKeys) {
  EXPECT_EQ(QuoteKey("users/ada"), "\"users/ada\"");
  EXPECT_EQ(QuoteKey(std::string("a\0\"\xff", 4)), "\"a\\x00\\\"\\xff\"");
  const std::string quoted = QuoteKey(std::string(kMaxQuotedKeyBytes + 10, 'k'));
  EXPECT_EQ(quoted, "\"" + std::string(kMaxQuotedKeyBytes, 'k') + "\"...");
}

TEST_F(TypedTest, PutGetDeleteRoundTrip) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});

  auto offset = users.Put("users/ada", kAda);
  ASSERT_TRUE(offset.has_value()) << offset.error().ToString();
  auto got = users.Get("users/ada");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, kAda);
  // The raw client sees the encoded bytes.
  EXPECT_EQ(users.raw().Get("users/ada").value_or(""), R"({"email":"ada@example.com","name":"Ada"})");

  ASSERT_TRUE(users.Delete("users/ada").has_value());
  auto gone = users.Get("users/ada");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
}

TEST_F(TypedTest, CorruptValueFailsGetWithTheKey) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  ASSERT_TRUE(client->Put("users/broken", "{not json").has_value());

  auto got = users.Get("users/broken");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(got.error().message(), HasSubstr("get: value at key \"users/broken\" does not decode: json: "));
}

TEST_F(TypedTest, PutThatDoesNotEncodeAppendsNothing) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  auto put = users.Put("users/bad", User{"\xc3", "x"});
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(put.error().message(), HasSubstr("key \"users/bad\""));
  EXPECT_EQ(broker_.end_offset(), 0);
}

TEST_F(TypedTest, PrefixYieldsTypedPairsOfThatPrefixOnly) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  ResourceClient accounts(*client, JsonSerde<Account>{});
  ASSERT_TRUE(users.Put("users/bob", kBob).has_value());
  ASSERT_TRUE(users.Put("users/ada", kAda).has_value());
  ASSERT_TRUE(accounts.Put("accounts/1", Account{"users/ada", 1250}).has_value());

  auto all = users.Prefix("users/");
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "users/ada");
  EXPECT_EQ((*all)[0].value, kAda);
  EXPECT_EQ((*all)[1].key, "users/bob");
  EXPECT_EQ((*all)[1].value, kBob);

  auto limited = users.Prefix("users/", QueryOptions{.limit = 1});
  ASSERT_TRUE(limited.has_value());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].key, "users/ada");

  auto account_list = accounts.Range(KeyConstraint{"accounts/", "accounts0"});
  ASSERT_TRUE(account_list.has_value()) << account_list.error().ToString();
  ASSERT_EQ(account_list->size(), 1u);
  EXPECT_EQ((*account_list)[0].value, (Account{"users/ada", 1250}));
}

TEST_F(TypedTest, RangeStopsAtTheFirstValueThatDoesNotDecode) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  ASSERT_TRUE(users.Put("users/a", kAda).has_value());
  ASSERT_TRUE(client->Put("users/b", "[]").has_value());
  ASSERT_TRUE(client->Put("users/c", "garbage").has_value());

  auto all = users.Prefix("users/");
  ASSERT_FALSE(all.has_value());
  EXPECT_EQ(all.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(all.error().message(), HasSubstr("prefix: value at key \"users/b\" does not decode"));

  // Reading a whole range that holds another type fails too, naming the key.
  ResourceClient accounts(*client, JsonSerde<Account>{});
  auto wrong_type = accounts.Range(KeyConstraint{});
  ASSERT_FALSE(wrong_type.has_value());
  EXPECT_THAT(wrong_type.error().message(), HasSubstr("range: value at key \"users/a\""));
}

TEST_F(TypedTest, TypedBatchWritesEverythingAndWaitsOnce) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  ASSERT_TRUE(users.Put("users/eve", User{"Eve", "eve@example.com"}).has_value());

  auto batch = users.Batch();
  batch.Put("users/ada", kAda).Put("users/bob", kBob).Delete("users/eve");
  EXPECT_EQ(batch.size(), 3u);
  auto last = batch.Execute();
  ASSERT_TRUE(last.has_value()) << last.error().ToString();
  EXPECT_GT(client->AppliedPosition(), *last);

  auto all = users.Prefix("users/");
  ASSERT_TRUE(all.has_value());
  std::vector<std::string> keys;
  for (const auto& pair : *all) keys.push_back(pair.key);
  EXPECT_THAT(keys, ElementsAre("users/ada", "users/bob"));
}

TEST_F(TypedTest, TypedBatchWithAValueThatDoesNotEncodeAppendsNothing) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  const log::Offset end_before = broker_.end_offset();
  auto result = users.Batch().Put("users/ada", kAda).Put("users/bad", User{"\xff", ""}).Put("users/bob", kBob).Execute();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message(), HasSubstr("batch put at key \"users/bad\" does not encode"));
  EXPECT_EQ(broker_.end_offset(), end_before);
  EXPECT_EQ(users.Get("users/ada").error().code(), ErrorCode::kNotFound);
}

// What typed hooks saw, guarded: hooks run on the client's applier thread.
struct Seen {
  std::mutex mu;
  std::map<std::string, User> users;
  std::map<std::string, Account> accounts;
  std::vector<std::string> deleted_users;
};

TEST_F(TypedTest, TypedHooksDecodePerPrefixAndLogDecodeFailuresWithTheKey) {
  Seen seen;
  CapturedLog captured;
  ClientOptions options;
  options.logger = captured.logger();
  options.on_set = CombineOnSet({
      WrapOnSet<User>("users/", JsonSerde<User>{},
                      [&seen](std::string_view key, const User& user, log::Offset) {
                        std::lock_guard lock(seen.mu);
                        seen.users[std::string(key)] = user;
                      },
                      options.logger),
      WrapOnSet<Account>("accounts/", JsonSerde<Account>{},
                         [&seen](std::string_view key, const Account& account, log::Offset) {
                           std::lock_guard lock(seen.mu);
                           seen.accounts[std::string(key)] = account;
                         },
                         options.logger),
  });
  options.on_delete = CombineOnDelete({WrapOnDelete("users/", [&seen](std::string_view key, log::Offset) {
    std::lock_guard lock(seen.mu);
    seen.deleted_users.push_back(std::string(key));
  })});
  auto client = Open(std::move(options));
  ASSERT_NE(client, nullptr);
  ResourceClient users(*client, JsonSerde<User>{});
  ResourceClient accounts(*client, JsonSerde<Account>{});

  ASSERT_TRUE(users.Put("users/ada", kAda).has_value());
  ASSERT_TRUE(accounts.Put("accounts/1", Account{"users/ada", 99}).has_value());
  const auto bad_offset = client->Put("users/broken", "{\"name\": 7}");
  ASSERT_TRUE(bad_offset.has_value());
  ASSERT_TRUE(client->Delete("accounts/1").has_value());
  ASSERT_TRUE(users.Delete("users/ada").has_value());

  // Writes return after the applier ran their hooks.
  std::lock_guard lock(seen.mu);
  EXPECT_EQ(seen.users.size(), 1u);
  EXPECT_EQ(seen.users["users/ada"], kAda);
  EXPECT_EQ(seen.accounts.size(), 1u);
  EXPECT_EQ(seen.accounts["accounts/1"], (Account{"users/ada", 99}));
  EXPECT_THAT(seen.deleted_users, ElementsAre("users/ada"));

  std::vector<std::string> decode_errors;
  for (const std::string& line : captured.lines()) {
    if (line.find("does not decode") != std::string::npos) decode_errors.push_back(line);
  }
  ASSERT_EQ(decode_errors.size(), 1u);
  EXPECT_THAT(decode_errors[0], HasSubstr("on_set hook: value at key \"users/broken\" does not decode"));
  EXPECT_THAT(decode_errors[0], HasSubstr(fmt::format("(offset {})", *bad_offset)));
  EXPECT_THAT(decode_errors[0], HasSubstr("typed hook was not called"));
}

TEST_F(TypedTest, TypedHookRunsDuringStartUpReplay) {
  {
    auto writer = Open();
    ASSERT_NE(writer, nullptr);
    ResourceClient users(*writer, JsonSerde<User>{});
    ASSERT_TRUE(users.Put("users/ada", kAda).has_value());
    ASSERT_TRUE(users.Put("users/bob", kBob).has_value());
  }
  Seen seen;
  ClientOptions options;
  options.on_set = WrapOnSet<User>("users/", JsonSerde<User>{},
                                   [&seen](std::string_view key, const User& user, log::Offset) {
                                     std::lock_guard lock(seen.mu);
                                     seen.users[std::string(key)] = user;
                                   },
                                   options.logger);
  auto reader = Open(std::move(options));
  ASSERT_NE(reader, nullptr);
  std::lock_guard lock(seen.mu);
  EXPECT_EQ(seen.users.size(), 2u);
  EXPECT_EQ(seen.users["users/bob"], kBob);
}

TEST(HooksTest, EmptyHooksAreLeftOutOfACombination) {
  int calls = 0;
  OnSet combined = CombineOnSet({nullptr, [&calls](std::string_view, std::string_view, log::Offset) { ++calls; }});
  combined("k", "v", 3);
  EXPECT_EQ(calls, 1);
  OnDelete deletes = CombineOnDelete({nullptr});
  deletes("k", 4);  // Calling an empty std::function would throw std::bad_function_call.
}

}  // namespace
}  // namespace kvlog::kv::typed
