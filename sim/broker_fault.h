// How a fault of the registry (sim/fault_registry.h) runs on a real Kafka
// cluster: what a broker nemesis does, and to whom. Plain data, so that the
// package that carries it out (nemesis/, which the simulator must not depend
// on) can take it from the registry without depending on the simulator.
//
//   const sim::FaultSpec* f = sim::FindFault("kill-leader");
//   if (f->brokers) nemesis::Fault{*f->brokers, f->name} ...
#pragma once

namespace kvlog::sim {

struct BrokerFault {
  // kLoneLeader: pause every follower until the ISR has shrunk to the leader
  // alone, SIGKILL the leader, resume the followers (only an unclean election
  // gives the partition a leader then), restart the old leader.
  enum class Kind { kKill, kPause, kPartition, kElect, kLoneLeader };
  // kElect and kLoneLeader ignore the target (they act on the leader).
  enum class Target { kLeader, kRandom, kMinority, kAll };
  Kind kind = Kind::kKill;
  Target target = Target::kLeader;

  // Partitions need each broker in its own network namespace
  // (kafka-cluster start --netns).
  bool NeedsNetns() const { return kind == Kind::kPartition; }
  // The controller quorum must survive the fault on nodes of its own
  // (kafka-cluster start --controllers 3).
  bool NeedsControllers() const { return kind == Kind::kLoneLeader; }
};

}  // namespace kvlog::sim
