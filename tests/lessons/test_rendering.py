"""Markdown rendering, sanitising and cross-topic references (pure)."""

from lessons.rendering import markdown_render, references


def test_references_found_in_the_material_phrasing():
    text = (
        "These are covered in depth in the tcp and udp topics. Detailed in http. It is explored in rest, "
        "see rpc and grpc. Compared in long-polling-websockets-sse. See the long-polling-websockets-sse topic."
    )
    assert references(text) == ["tcp", "udp", "http", "rest", "rpc", "grpc", "long-polling-websockets-sse"]
    assert references("see REST or gRPC for details, as covered in Kafka.") == []
    assert references("As we will see below. It is covered in detail.") == []
    assert markdown_render("As we will see below.", topic_urls={}) == "<p>As we will see below.</p>"


def test_known_topics_become_links_unknown_become_markers():
    html = markdown_render(
        "Covered in depth in the tcp and udp topics.", topic_urls={"tcp": "/courses/c/tcp/"}
    )
    assert '<a class="topic-ref" href="/courses/c/tcp/" rel="noopener noreferrer">tcp</a>' in html
    assert (
        '<span class="topic-ref topic-ref-missing">udp <small class="badge">not in this course yet</small></span>'
        in html
    )
    assert html.endswith("topics.</p>")


def test_markdown_is_sanitised():
    html = markdown_render(
        '<script>alert(1)</script> **bold** <a href="javascript:x()">x</a> <img src=x onerror=y>'
    )
    assert "<script" not in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert "<strong>bold</strong>" in html


def test_code_and_tables():
    html = markdown_render("```python\nprint(1)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert '<div class="codehilite"><pre>' in html
    assert "<table>" in html
