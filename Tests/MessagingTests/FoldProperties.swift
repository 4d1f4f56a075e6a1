import Messaging
import PropertyBased
import Synchronization
import Testing

/// Random command sequences over a small world: whatever the deciders accept, folding their events
/// one at a time equals folding the whole history from scratch.
@Suite struct FoldProperties {
    static let threads: [ThreadID] = ["t-a", "t-b", "t-c"]
    static let users: [UserID] = [
        World.handler, World.handler2, World.client, World.client2, World.subcontractor,
    ]

    /// Turns one random number into a command against the current history; most commands are valid,
    /// and refused ones are simply skipped.
    static func command(_ seed: Int) -> (Command, Actor, String) {
        let pick = seed / 16
        let user = users[pick % users.count]
        let thread = threads[(pick / 7) % threads.count]
        let actor = Actor.user(user)
        switch seed % 16 {
        case 0, 1:
            let kinds = ["request", "contract", "ticket", "case"]
            let open = OpenThread(
                subjectKind: kinds[pick % kinds.count], subjectRef: "R\(pick % 3)", title: "Thread \(pick)",
                priority: Priority.allCases[pick % 4], structures: pick % 2 == 0 ? [World.circle] : [],
                body: pick % 3 == 0 ? nil : NewMessage(text: "First \(pick)"))
            return (.openThread(open), actor, thread.rawValue)
        case 2, 3, 4, 5:
            return (.postMessage(thread: thread, message: NewMessage(text: "Message \(pick)")), actor, "")
        case 6, 7:
            return (.moveReadMarker(thread: thread, upTo: pick % 5), actor, "")
        case 8:
            return (
                .assignHandler(thread: thread, handler: pick % 2 == 0 ? World.handler : World.handler2),
                actor, ""
            )
        case 9, 10:
            return (.changeStatus(thread: thread, to: ThreadStatus.allCases[pick % 5]), actor, "")
        case 11:
            return (.blockThread(thread), actor, "")
        case 12:
            return (.unblockThread(thread), actor, "")
        case 13:
            return (.addStructureMember(structure: World.circle, user: user), .admin, "")
        case 14:
            return (.removeStructureMember(structure: World.circle, user: user), .admin, "")
        default:
            return (.changeSettings(SettingsPatch(allowReopen: pick % 2 == 0)), .admin, "")
        }
    }

    @Test func incrementalFoldEqualsFoldFromScratch() async {
        let tally = CaseTally()
        await propertyCheck(count: 200, input: Gen.int(in: 0...100_000).array(of: 1...60)) { seeds in
            var spec = Spec.given(World.directory)
            var accepted = 0
            defer { tally.record(accepted: accepted, refused: seeds.count - accepted) }
            var directory = spec.directory
            var states: [ThreadID: ThreadState] = [:]
            for seed in seeds {
                let (command, actor, newID) = Self.command(seed)
                let context = CommandContext(now: Int64(spec.history.count), actor: actor, newID: newID)
                guard
                    let events = try? Decider.decide(
                        command, context: context, directory: directory,
                        loaded: spec.loaded(for: command, context: context))
                else { continue }
                accepted += 1
                let before = spec.history.count
                spec.record(events, actor: actor.recordedValue)
                for recorded in spec.history[before...] {
                    directory = Directory.evolve(directory, recorded)
                    // A thread's state is folded from its own stream, as an engine loads it.
                    for thread in Self.threads where recorded.event.stream == StreamName.thread(thread) {
                        states[thread] = ThreadState.evolve(states[thread], recorded)
                    }
                }
            }
            #expect(directory == Directory.fold(spec.history))
            for thread in Self.threads {
                let scratch = ThreadState.fold(
                    spec.history.filter { $0.event.stream == StreamName.thread(thread) })
                #expect(states[thread] == scratch)
                if let state = scratch {
                    // Numbering stays gapless whatever was accepted.
                    #expect(state.messages.map(\.number) == Array(0..<state.messageCount).map { $0 + 1 })
                }
            }
            // Ticket numbers are gapless too.
            let tickets = spec.history.compactMap { record -> Int? in
                guard case .ticketNumbered(let e) = record.event else { return nil }
                return e.number
            }
            #expect(tickets == Array(0..<tickets.count).map { $0 + 1 })
        }
        print("incremental fold against fold from scratch: \(tally.summary)")
        #expect(tally.cases >= 200)
        // A typical run takes about a third of some 6,000 commands.
        #expect(tally.accepted >= 1000, "\(tally.summary)")
    }
}

/// How many cases a property ran and how many of their commands were taken or refused: a property
/// that skips refused commands reports it and expects a minimum, so generated input that drifts into
/// refusals shows instead of passing on nothing.
final class CaseTally: Sendable {
    private let counts = Mutex((cases: 0, accepted: 0, refused: 0))

    func record(accepted: Int, refused: Int) {
        counts.withLock { counts in
            counts.cases += 1
            counts.accepted += accepted
            counts.refused += refused
        }
    }

    var cases: Int { counts.withLock { $0.cases } }
    var accepted: Int { counts.withLock { $0.accepted } }
    var refused: Int { counts.withLock { $0.refused } }
    var summary: String { "\(cases) cases, \(accepted) commands taken, \(refused) refused" }
}
