// ProtobufSerde, bare and in the Confluent wire format, alone and under a
// ResourceClient over the simulated log.
#include "kv/typed/protobuf/protobuf_serde.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <set>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/typed/resource_client.h"
#include "kv/typed/protobuf/testdata/people.pb.h"
#include "log/sim/broker.h"

namespace kvlog::kv::typed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testdata::Account;
using testdata::User;

static_assert(Serde<ProtobufSerde<User>>);

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

User MakeUser(std::string name, std::string email) {
  User user;
  user.set_name(std::move(name));
  user.set_email(std::move(email));
  return user;
}

ProtobufSerdeOptions Framed(int32_t schema_id) {
  ConfluentOptions confluent;
  confluent.schema_id = schema_id;
  return ProtobufSerdeOptions{.confluent = std::move(confluent)};
}

TEST(ProtobufSerdeTest, BareRoundTrip) {
  ProtobufSerde<User> serde;
  auto bytes = serde.Serialize(MakeUser("Ada", "ada@example.com"));
  ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
  // Field 1 (length-delimited) "Ada", field 2 "ada@example.com": plain Protobuf.
  EXPECT_EQ(bytes->substr(0, 5), Bytes({0x0a, 0x03, 'A', 'd', 'a'}));
  auto back = serde.Deserialize(*bytes);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->name(), "Ada");
  EXPECT_EQ(back->email(), "ada@example.com");
}

TEST(ProtobufSerdeTest, CorruptBytesFailToParse) {
  ProtobufSerde<User> serde;
  // Field 1 says 5 bytes follow; only 2 do.
  auto truncated = serde.Deserialize(Bytes({0x0a, 0x05, 'A', 'd'}));
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(truncated.error().message(), HasSubstr("do not parse as kvlog.kv.typed.testdata.User"));
}

TEST(ProtobufSerdeTest, MessageIndexesAreFoundByName) {
  const auto& file = *User::descriptor()->file();
  EXPECT_THAT(MessageIndexesByName(file, "kvlog.kv.typed.testdata.User").value(), ElementsAre(0));
  EXPECT_THAT(MessageIndexesByName(file, "kvlog.kv.typed.testdata.Account").value(), ElementsAre(1));
  EXPECT_THAT(MessageIndexesByName(file, "kvlog.kv.typed.testdata.Account.Entry").value(), ElementsAre(1, 0));
  auto missing = MessageIndexesByName(file, "kvlog.kv.typed.testdata.Nobody");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  EXPECT_EQ(MessageAt(file, std::vector<int32_t>{1, 0}).value()->full_name(), "kvlog.kv.typed.testdata.Account.Entry");
  EXPECT_FALSE(MessageAt(file, std::vector<int32_t>{2}).has_value());
  EXPECT_FALSE(MessageAt(file, std::vector<int32_t>{0, 0}).has_value());

  EXPECT_THAT(ProtobufSerde<Account::Entry>().message_indexes(), ElementsAre(1, 0));
  EXPECT_THAT(ProtoSchemaText(file), HasSubstr("message User {"));
}

TEST(ProtobufSerdeTest, ConfluentFramingMatchesHandWrittenBytes) {
  // User{name: "Ada"} as schema id 1: magic, id, [0] as 0x00, payload.
  User ada;
  ada.set_name("Ada");
  EXPECT_EQ(ProtobufSerde<User>(Framed(1)).Serialize(ada).value(),
            Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a, 0x03, 'A', 'd', 'a'}));

  // Account{owner: "a", balance_cents: 5} as schema id 2: [1] -> 0x02 0x02.
  Account account;
  account.set_owner("a");
  account.set_balance_cents(5);
  EXPECT_EQ(ProtobufSerde<Account>(Framed(2)).Serialize(account).value(),
            Bytes({0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x02, 0x0a, 0x01, 'a', 0x10, 0x05}));

  // Account.Entry{amount_cents: 1} as schema id 3: [1, 0] -> 0x04 0x02 0x00.
  Account::Entry entry;
  entry.set_amount_cents(1);
  const std::string entry_bytes = Bytes({0x00, 0x00, 0x00, 0x00, 0x03, 0x04, 0x02, 0x00, 0x08, 0x01});
  ProtobufSerde<Account::Entry> entry_serde(Framed(3));
  EXPECT_EQ(entry_serde.Serialize(entry).value(), entry_bytes);
  auto back = entry_serde.Deserialize(entry_bytes);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->amount_cents(), 1);
}

TEST(ProtobufSerdeTest, ConfluentDecodingChecksMagicSchemaIdAndMessage) {
  ProtobufSerde<User> users(Framed(1));
  auto error = [&](const std::string& bytes) {
    auto got = users.Deserialize(bytes);
    EXPECT_FALSE(got.has_value());
    if (got) return std::string("<decoded>");
    EXPECT_EQ(got.error().code(), ErrorCode::kCorrupt);
    return got.error().message();
  };
  // Bare Protobuf bytes are not the wire format.
  EXPECT_THAT(error(Bytes({0x0a, 0x03, 'A', 'd', 'a'})), HasSubstr("unknown magic byte 0x0a"));
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x0a, 0x00})),
              HasSubstr("unknown schema id 2; this serde knows only schema id 1"));
  // Indexes [1] name Account in this file, not User.
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x02, 0x0a, 0x00})),
              HasSubstr("message indexes [1] name kvlog.kv.typed.testdata.Account, but this serde decodes "
                        "kvlog.kv.typed.testdata.User"));
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x0a})), HasSubstr("no message at indexes [5]"));
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a, 0x05, 'A'})),
              HasSubstr("do not parse as kvlog.kv.typed.testdata.User"));
}

TEST(ProtobufSerdeTest, SchemaIdCheckerDecidesWhichIdsAreKnown) {
  const std::set<int32_t> registered = {1, 4};
  ProtobufSerdeOptions options = Framed(4);
  options.confluent->check_schema_id = [&registered](int32_t id) -> Status {
    if (registered.contains(id)) return OkStatus();
    return MakeError(ErrorCode::kNotFound, fmt::format("registry has no schema {}", id));
  };
  ProtobufSerde<User> serde(options);
  User ada = MakeUser("Ada", "");
  // Written with an older id the registry still knows.
  auto old = ProtobufSerde<User>(Framed(1)).Serialize(ada);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(serde.Deserialize(*old).value().name(), "Ada");
  auto unknown = serde.Deserialize(ProtobufSerde<User>(Framed(9)).Serialize(ada).value());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message(), HasSubstr("unknown schema id 9: registry has no schema 9"));
}

class ProtobufResourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto client = Client::Open(broker_.Connect(), NewMemoryStorage(), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    client_ = std::move(*client);
  }

  log::sim::Broker broker_;
  std::unique_ptr<Client> client_;
};

TEST_F(ProtobufResourceTest, TypedRoundTripRangeAndBatch) {
  // Both messages live in one .proto file: one schema, one schema id.
  ResourceClient users(*client_, ProtobufSerde<User>(Framed(1)));
  ResourceClient accounts(*client_, ProtobufSerde<Account>(Framed(1)));
  ASSERT_TRUE(users.Put("users/ada", MakeUser("Ada", "ada@example.com")).has_value());
  Account account;
  account.set_owner("users/ada");
  account.add_entries()->set_amount_cents(700);
  ASSERT_TRUE(accounts.Batch().Put("accounts/1", account).Put("accounts/2", Account()).Execute().has_value());

  EXPECT_EQ(users.Get("users/ada").value().email(), "ada@example.com");
  auto listed = accounts.Prefix("accounts/");
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "accounts/1");
  EXPECT_EQ((*listed)[0].value.entries(0).amount_cents(), 700);
  EXPECT_EQ((*listed)[1].value.owner(), "");

  // An account read as a user fails, naming the key and both messages.
  auto confused = users.Range(KeyConstraint{});
  ASSERT_FALSE(confused.has_value());
  EXPECT_THAT(confused.error().message(), HasSubstr("range: value at key \"accounts/1\" does not decode: "));
  EXPECT_THAT(confused.error().message(), HasSubstr("name kvlog.kv.typed.testdata.Account"));
}

TEST_F(ProtobufResourceTest, CorruptStoredBytesNameTheKey) {
  ResourceClient users(*client_, ProtobufSerde<User>());
  ASSERT_TRUE(client_->Put("users/broken", Bytes({0x0a, 0x05, 'A'})).has_value());
  auto got = users.Get("users/broken");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(got.error().message(), HasSubstr("get: value at key \"users/broken\" does not decode: protobuf: "));
}

}  // namespace
}  // namespace kvlog::kv::typed
