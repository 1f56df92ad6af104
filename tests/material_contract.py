"""The lesson and section slugs the committed material imports to: a contract, since quiz links,
experiment links and bookmarks depend on them (lessons/outline.py produces them)."""

KEY_AREAS = {
    "communication-patterns": "Communication Patterns",
    "synchronous-vs-asynchronous-communication": "Synchronous vs Asynchronous Communication",
    "network-layer-protocols-tcp-vs-udp": "Network Layer Protocols (TCP vs UDP)",
    "application-layer-protocols": "Application Layer Protocols",
    "real-time-communication-protocols": "Real-Time Communication Protocols",
}
# lesson slug -> section anchors, in page order
LESSONS = {
    "overview": ["objectives", "tl-dr", "cheat-sheet", "why-this-matters"],
    "the-landscape": [
        "the-landscape",
        "communication-protocol-stack-network-and-application-layers",
        "communication-patterns-request-response-streaming-and-asynchronous",
        "synchronous-vs-asynchronous-communication-trade-offs",
    ],
    **{slug: [slug] for slug in KEY_AREAS},
    "protocol-selection-decision-tree": [
        "protocol-selection-decision-tree",
        "protocol-selection-decision-tree-diagram",
    ],
    "how-things-connect": ["how-things-connect", "protocol-composition-in-a-modern-system"],
    "real-world-context": ["real-world-context"],
    "interview-essentials": ["mid-level", "senior", "staff"],
    "questions-and-red-flags": [
        "common-interview-questions",
        "when-would-you-choose-rest-over-grpc",
        "how-do-you-handle-real-time-updates-in-a-web-application",
        "what-are-the-trade-offs-between-synchronous-and-asynchronous-communication",
        "how-do-you-ensure-reliable-message-delivery-in-a-distributed-system",
        "red-flags-to-avoid",
        "claiming-one-protocol-is-always-better",
        "not-understanding-the-osi-model-layers",
        "ignoring-operational-complexity",
        "not-considering-failure-modes",
        "overengineering-with-exotic-protocols",
    ],
    "key-takeaways": [
        "key-takeaways",
        "communication-protocols-operate-in-layers",
        "synchronous-vs-asynchronous-is-a-fundamental-trade-off",
        "match-protocols-to-requirements-not-trends",
        "real-world-systems-compose-multiple-protocols",
        "operational-complexity-matters-as-much-as-performance",
    ],
}
