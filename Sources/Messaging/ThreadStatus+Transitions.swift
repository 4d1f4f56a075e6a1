import Foundation

extension ThreadStatus {
    /// The statuses a thread may be moved to from this one. `resolved` and `closed` only leave
    /// through reopening, which goes back to `open`.
    public var allowedTargets: Set<ThreadStatus> {
        switch self {
        case .new: [.open, .waiting, .resolved, .closed]
        case .open: [.waiting, .resolved, .closed]
        case .waiting: [.open, .resolved, .closed]
        case .resolved: [.open, .closed]
        case .closed: [.open]
        }
    }

    public func canMove(to target: ThreadStatus) -> Bool { allowedTargets.contains(target) }
}
