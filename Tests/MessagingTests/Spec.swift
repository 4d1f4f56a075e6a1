import Messaging
import Testing

/// Given / when / then for the deciders: a history of events, one command, the expected events or
/// refusal. The history is recorded as a log would: positions from 1, versions per stream.
struct Spec {
    var history: [Recorded<Event>] = []

    static func given(_ events: [Event]) -> Spec {
        var spec = Spec()
        spec.record(events)
        return spec
    }

    mutating func record(_ events: [Event], actor: String = "@admin") {
        for event in events {
            let stream = event.stream
            let version = UInt64(history.count { $0.event.stream == stream } + 1)
            let position = UInt64(history.count + 1)
            history.append(
                Recorded(
                    position: position, version: version, timeMillis: Int64(position) * 1000, actor: actor,
                    event: event))
        }
    }

    var directory: Directory { Directory.fold(history) }

    func loaded(for command: Command, context: CommandContext) -> LoadedStreams {
        var streams: [String: [Recorded<Event>]] = [:]
        for stream in command.streamsToLoad(context: context) {
            streams[stream] = history.filter { $0.event.stream == stream }
        }
        return LoadedStreams(streams)
    }

    func when(_ command: Command, by actor: Actor, newID: String = "t-new") -> Outcome {
        let context = CommandContext(now: 1_000_000, actor: actor, newID: newID)
        let loaded = loaded(for: command, context: context)
        let result: Result<[Event], DomainError>
        do {
            let plan = try Decider.plan(command, context: context, directory: directory, loaded: loaded)
            result = .success(plan.events)
            // Every write goes to a loaded stream, so its expected version is known.
            let allowed = Set(command.streamsToLoad(context: context))
            for write in plan.writes {
                #expect(allowed.contains(write.stream), "\(write.stream) is written but not loaded")
            }
        } catch {
            result = .failure(error)
        }
        return Outcome(spec: self, command: command, context: context, result: result)
    }
}

struct Outcome {
    var spec: Spec
    var command: Command
    var context: CommandContext
    var result: Result<[Event], DomainError>

    @discardableResult
    func then(_ expected: [Event], sourceLocation: SourceLocation = #_sourceLocation) -> Spec {
        switch result {
        case .success(let events):
            #expect(events == expected, sourceLocation: sourceLocation)
            var next = spec
            next.record(events, actor: context.actor.recordedValue)
            return next
        case .failure(let error):
            Issue.record("refused with \(error), expected \(expected)", sourceLocation: sourceLocation)
            return spec
        }
    }

    func thenRefused(_ expected: DomainError, sourceLocation: SourceLocation = #_sourceLocation) {
        switch result {
        case .success(let events):
            Issue.record(
                "decided \(events), expected refusal \(expected)", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error == expected, sourceLocation: sourceLocation)
        }
    }
}
