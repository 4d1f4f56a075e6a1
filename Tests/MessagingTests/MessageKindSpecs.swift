import Messaging
import Testing

@Suite struct MessageKindSpecs {
    let w = World.self

    private func changed(_ number: Int, _ kind: MessageKind) -> Event {
        .messageKindChanged(MessageKindChanged(thread: w.thread, number: number, kind: kind))
    }

    @Test func aHandlerMarksAMessageAsATaskAndBack() {
        Spec.given(w.directory + w.opened)
            .when(.changeMessageKind(thread: w.thread, number: 1, kind: .task), by: .user(w.handler))
            .then([changed(1, .task)])
            // Asking for the kind it has writes nothing.
            .when(.changeMessageKind(thread: w.thread, number: 1, kind: .task), by: .user(w.handler))
            .then([])
            .when(.changeMessageKind(thread: w.thread, number: 1, kind: .message), by: .user(w.handler2))
            .then([changed(1, .message)])
    }

    @Test func theFoldedThreadShowsTheKind() {
        let state = ThreadState.fold(
            (w.opened + [changed(1, .task)]).enumerated().map { index, event in
                Recorded(position: UInt64(index + 1), version: UInt64(index + 1), timeMillis: 0, actor: "c1", event: event)
            })
        #expect(state?.messages.first?.kind == .task)
    }

    @Test func onlyHandlersMarkTasks() {
        let spec = Spec.given(w.directory + w.opened)
        spec.when(.changeMessageKind(thread: w.thread, number: 1, kind: .task), by: .user(w.client))
            .thenRefused(.notAllowed("only the thread's handlers mark messages as tasks"))
        spec.when(.changeMessageKind(thread: w.thread, number: 1, kind: .task), by: .user(w.supervisor))
            .thenRefused(.threadNotFound(w.thread))
        spec.when(.changeMessageKind(thread: w.thread, number: 1, kind: .task), by: .user(w.subcontractor))
            .thenRefused(.threadNotFound(w.thread))
    }

    @Test func anUnknownMessageNumberIsRefused() {
        let spec = Spec.given(w.directory + w.opened)
        for number in [0, 2, -1] {
            spec.when(.changeMessageKind(thread: w.thread, number: number, kind: .task), by: .user(w.handler))
                .thenRefused(.unknownMessage(thread: w.thread, number: number))
        }
        spec.when(.changeMessageKind(thread: "nope", number: 1, kind: .task), by: .user(w.handler))
            .thenRefused(.threadNotFound("nope"))
    }

    @Test func aPurgedThreadIsRefused() {
        let purged = Event.threadPurged(
            ThreadPurged(
                thread: w.thread, subject: Subject(kind: "request", ref: "D-1187"), category: nil, openedBy: w.client,
                participants: [w.client], structures: [w.circle], reason: "retention"))
        Spec.given(w.directory + w.opened + [purged])
            .when(.changeMessageKind(thread: w.thread, number: 1, kind: .task), by: .user(w.handler))
            .thenRefused(.threadPurged(w.thread))
    }
}
