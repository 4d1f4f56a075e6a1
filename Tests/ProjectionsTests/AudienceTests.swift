import Engine
import Messaging
import Projections
import Testing

@Suite("Audience")
struct AudienceTests {
    @Test("a thread's audience is every user who may read it, each once, in order, however many ways they reach it")
    func everyReaderOnce() async throws {
        let f = try ViewsFixture()
        try await f.world()
        // sue reaches the thread as a circle member and as a named participant; hana as a handler-role
        // holder and as a named participant; sam opened it and names himself too.
        let open = try await f.user(
            "sam",
            .openThread(
                OpenThread(
                    subjectKind: "request", subjectRef: "A", title: "Many ways in",
                    participants: ["sue", "hana", "sam"], structures: ["circle"],
                    body: NewMessage(text: "hello"))))
        let thread = try #require(open.thread)

        let directory = try f.engine.currentDirectory()
        let state = try #require(try f.engine.threadState(thread))
        #expect(Set(state.participants).isSuperset(of: ["sue", "hana", "sam"]))
        let audience = Audience(directory: directory).users(of: state, in: directory)
        let everyone = directory.users.keys.filter { Access.canRead($0, state, directory) }.sorted()
        #expect(audience == everyone)
        #expect(audience == ["hana", "hugo", "sam", "sue"])
    }
}
