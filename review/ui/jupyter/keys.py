"""A focusable box that sends single key presses to Python (an anywidget; its JavaScript is inline).

ipywidgets has no widget for key presses. A text box whose value the kernel reads and clears
loses or repeats keys typed quickly (the clear races the typing), and cannot tell which record
the reviewer was looking at. This box sends one message per key press together with the id of
the record shown when the key was pressed, and stops the key from reaching JupyterLab's
command-mode shortcuts (``i i`` interrupts the kernel, ``m`` turns the cell into Markdown,
``d d`` deletes it).
"""
from __future__ import annotations

from collections.abc import Callable

import anywidget
import traitlets

_ESM = r"""
function render({ model, el }) {
  el.classList.add("rv-keypad");
  el.tabIndex = 0;
  el.setAttribute("role", "button");
  const show = () => { el.textContent = model.get("legend"); };
  show();
  model.on("change:legend", show);
  el.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.key === "Tab" || ev.key === "Escape") return;
    ev.stopPropagation();
    ev.preventDefault();
    if (ev.repeat) return;  // a held key must not screen a run of records
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (model.get("accept").includes(key)) {
      model.send({ key: key, record_id: model.get("record_id") });
    }
  });
  model.on("msg:custom", (msg) => {
    if (msg && msg.do === "focus") el.focus({ preventScroll: true });  // DOMWidget.focus()
  });
  if (model.get("autofocus")) setTimeout(() => el.focus({ preventScroll: true }), 50);
}
export default { render };
"""

_CSS = """
.rv-keypad {display: inline-block; padding: 6px 10px; border: 2px dashed #999; border-radius: 6px;
  cursor: pointer; user-select: none; font-family: var(--jp-code-font-family, monospace); font-size: 13px;
  color: var(--jp-ui-font-color1, #222);}
.rv-keypad:focus {outline: none; border: 2px solid #1565c0; background: rgba(21, 101, 192, 0.08);}
"""


class KeyPad(anywidget.AnyWidget):
    """Click it (or it takes focus itself), then press keys; ``on_key(callback)`` gets ``(key, record_id)``."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    _css = traitlets.Unicode(_CSS).tag(sync=True)
    legend = traitlets.Unicode("").tag(sync=True)
    accept = traitlets.List(traitlets.Unicode()).tag(sync=True)
    record_id = traitlets.Unicode("").tag(sync=True)
    autofocus = traitlets.Bool(True).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._callbacks: list[Callable[[str, str | None], None]] = []
        self.on_msg(self._on_message)

    def on_key(self, callback: Callable[[str, str | None], None]) -> None:
        """Call ``callback(key, record_id)`` for every key press in the browser."""
        self._callbacks.append(callback)

    def press(self, key: str, record_id: str | None = None) -> None:
        """What a key press in the browser does (for tests and scripted use)."""
        for cb in self._callbacks:
            cb(key, record_id)

    def _on_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and isinstance(content.get("key"), str) and "do" not in content:
            self.press(content["key"], content.get("record_id") or None)
