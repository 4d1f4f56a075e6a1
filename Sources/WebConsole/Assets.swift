/// The console's style sheet and script, served as files (`/assets/…`) so that the Content Security
/// Policy can forbid inline styles and scripts.
enum Assets {
    static let css = """
        :root { --ink: #1d2430; --muted: #5b6575; --line: #d9dee6; --bg: #f5f7fa; --card: #fff;
          --accent: #1f5fbf; --accent-ink: #fff; --warn: #a33a00; --ok: #1c7a3a; --new: #fff6d6; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          color: var(--ink); background: var(--bg); }
        a { color: var(--accent); }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .6rem 1rem;
          background: #16325c; color: #fff; }
        header.top a { color: #fff; text-decoration: none; }
        header.top .brand { font-weight: 700; font-size: 1.1rem; margin-right: auto; }
        header.top nav.main a { margin-right: .8rem; }
        header.top .who { opacity: .85; }
        header.top .langs a { font-size: .85rem; opacity: .75; margin-left: .3rem; }
        header.top .langs a[aria-current] { opacity: 1; text-decoration: underline; }
        button.link { background: none; border: 0; color: #fff; text-decoration: underline; padding: 0; cursor: pointer; font: inherit; }
        form.inline { display: inline; }
        main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
        h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: .5rem 0; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; }
        .narrow { max-width: 28rem; margin: 2rem auto; }
        label { display: block; margin: .4rem 0; font-weight: 600; }
        input, select, textarea { font: inherit; padding: .45rem .55rem; border: 1px solid var(--line); border-radius: 6px;
          background: #fff; color: var(--ink); max-width: 100%; }
        input[type=password], input[name=title], textarea { width: 100%; }
        .filters label, .row label { display: inline-block; margin-right: .75rem; }
        .row { display: flex; flex-wrap: wrap; align-items: end; gap: .5rem; }
        button { font: inherit; padding: .45rem .9rem; border: 0; border-radius: 6px; background: var(--accent);
          color: var(--accent-ink); cursor: pointer; }
        .help { color: var(--muted); font-size: .9rem; margin: .2rem 0 .8rem; }
        .error { color: var(--warn); font-weight: 600; }
        .notice { background: #fdecea; border: 1px solid #f1b9b0; padding: .5rem .75rem; border-radius: 6px; }
        .filters { display: flex; flex-wrap: wrap; align-items: end; gap: .25rem .5rem; margin-bottom: 1rem; }
        table.inbox { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
        table.inbox th, table.inbox td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        table.inbox th { font-size: .85rem; color: var(--muted); background: #eef1f5; }
        tr.has-unread .title a { font-weight: 700; }
        .badge { display: inline-block; min-width: 1.5em; padding: 0 .45em; border-radius: 1em; background: #d9342b;
          color: #fff; font-size: .8rem; font-weight: 700; text-align: center; }
        .status { padding: .05rem .45rem; border-radius: 4px; background: #e6ebf2; font-size: .9rem; }
        .status-new { background: #dcecff; } .status-waiting { background: #fff0c2; }
        .status-resolved { background: #d8f1de; } .status-closed { background: #e2e2e2; }
        .priority-urgent { color: var(--warn); font-weight: 700; } .priority-high { color: var(--warn); }
        .paging { margin: 1rem 0; display: flex; gap: 1rem; }
        .empty { color: var(--muted); }
        .crumbs { margin: 0; }
        .num { color: var(--muted); font-weight: 600; }
        dl.facts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: 0 0 1rem; }
        dl.facts dt { font-size: .8rem; color: var(--muted); } dl.facts dd { margin: 0; font-weight: 600; }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0 1rem; }
        .actions form { margin: 0; }
        .columns { display: grid; grid-template-columns: minmax(0, 1fr) 16rem; gap: 1rem; }
        ol.messages { list-style: none; margin: 0; padding: 0; }
        li.message { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; margin-bottom: .6rem; }
        li.message.mine { border-left: 4px solid var(--accent); }
        li.message.new { background: var(--new); }
        li.message header { font-size: .9rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: .4rem; align-items: baseline; }
        li.message header .author { color: var(--ink); }
        li.message header time { margin-left: auto; }
        .kind { background: #efe3ff; color: #4b2a85; border-radius: 4px; padding: 0 .4rem; font-size: .8rem; }
        .body { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: .3rem; }
        form.post { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem; }
        aside.contacts ul { list-style: none; padding: 0; margin: 0; }
        aside.contacts li { padding: .3rem 0; border-bottom: 1px solid var(--line); }
        aside.contacts small { display: block; color: var(--muted); }
        .notes { margin-top: 1.5rem; }
        .notes .hint { color: var(--muted); font-size: .85rem; margin: 0 0 .5rem; }
        aside.contacts .notes ol { list-style: none; padding: 0; margin: 0 0 .75rem; }
        aside.contacts .notes li { background: #fff6d6; border: 1px solid #ecd98f; border-radius: 6px; padding: .4rem .5rem; margin-bottom: .4rem; }
        .notes .body { white-space: pre-wrap; }
        .notes textarea { width: 100%; box-sizing: border-box; }
        form.stack > label { margin: .7rem 0; }
        label input, label select, label textarea { font-weight: 400; }
        .filters label.check { display: inline-flex; align-items: center; gap: .35rem; font-weight: 600; padding-bottom: .45rem; }
        .filters .clear { padding-bottom: .5rem; }
        .filters label.search input { width: 14rem; }
        button.secondary { background: #e6ebf2; color: var(--ink); }
        ul.attachments { list-style: none; margin: .4rem 0 0; padding: .4rem 0 0; border-top: 1px dashed var(--line);
          display: flex; flex-wrap: wrap; gap: .3rem .9rem; }
        ul.attachments small { color: var(--muted); }
        form.templates { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem; margin: 0 0 .5rem; }
        form.templates label { margin: 0; }
        .drop { border: 2px dashed var(--line); border-radius: 8px; padding: .5rem .7rem; margin: .5rem 0; }
        .drop.dragging { border-color: var(--accent); background: #eef4ff; }
        .drop label { display: inline-block; margin: 0 .5rem 0 0; max-width: 100%; }
        .drop input[type=file] { border: 0; padding: .2rem 0; max-width: 100%; }
        .drop .hint { color: var(--muted); font-size: .9rem; }
        .drop-list { list-style: none; margin: .3rem 0 0; padding: 0; font-size: .9rem; }
        .drop-list:empty { display: none; }
        @media (max-width: 720px) {
          main { padding: .6rem; }
          .columns { grid-template-columns: minmax(0, 1fr); }
          table.inbox thead { display: none; }
          table.inbox, table.inbox tbody, table.inbox tr, table.inbox td { display: block; width: 100%; }
          table.inbox tr { border-bottom: 2px solid var(--line); padding: .3rem 0; }
          table.inbox td { border: 0; padding: .15rem .6rem; }
          table.inbox td:empty { display: none; }
          table.inbox td::before { content: attr(data-label) ": "; color: var(--muted); font-size: .8rem; }
          table.inbox td.title::before { content: none; }
          table.inbox td.title { font-size: 1.05rem; }
          .filters { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: .1rem .6rem; }
          .filters label { margin: .2rem 0; font-size: .9rem; } .filters select, .filters input { width: 100%; }
          .filters label.search { grid-column: 1 / -1; } .filters label.search input { width: 100%; }
          .filters label.check { padding: 0; } .filters label.check input { width: auto; }
          .filters button { justify-self: start; }
          .drop label, .drop input[type=file] { width: 100%; }
        }
        /* Administration and operations */
        nav.admin { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0 0 1rem; }
        nav.admin a[aria-current] { font-weight: 600; text-decoration: none; }
        .table-scroll { overflow-x: auto; max-width: 100%; margin-bottom: 1rem; }
        table.admin-list { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
        table.admin-list td { overflow-wrap: break-word; }
        .card + .card, .table-scroll + .card { margin-top: 1rem; }
        form.stack label > input:not([type=checkbox]), form.stack label > select {
          display: block; width: 100%; max-width: 32rem; margin-top: .25rem; }
        table.admin-list th, table.admin-list td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        table.admin-list th { font-size: .85rem; color: var(--muted); background: #eef1f5; }
        table.admin-list tr.behind td { color: var(--warn); }
        #new-token { display: block; padding: .6rem; background: #eef1f5; border: 1px solid var(--line); overflow-wrap: anywhere; font-size: 1.05rem; }
        ul.members { padding-left: 1.2rem; }
        .saved { background: #e8f5e9; border: 1px solid #b7dfb9; padding: .5rem .75rem; border-radius: 6px; }
        """

    /// Live updates: the page listens to the user's event feed (`/feed`) and reloads itself when
    /// something it shows changes, unless the reader is typing a message or has chosen files.
    /// Templates fill the post box when chosen, and files dropped on a post box join its file input.
    /// Pages work without it.
    static let js = """
        (function () {
          "use strict";
          var choice = document.getElementById("template");
          var box = document.getElementById("body");
          if (choice && box) {
            choice.addEventListener("change", function () {
              var option = choice.options[choice.selectedIndex];
              if (option && option.value) { box.value = option.getAttribute("data-text") || ""; box.focus(); }
            });
          }
          Array.prototype.forEach.call(document.querySelectorAll("[data-drop]"), function (zone) {
            var input = zone.querySelector("input[type=file]");
            var list = zone.querySelector(".drop-list");
            var form = zone.closest("form") || zone;
            if (!input || !window.DataTransfer) { return; }
            function show() {
              list.textContent = "";
              Array.prototype.forEach.call(input.files, function (file) {
                var item = document.createElement("li");
                item.textContent = file.name;
                list.appendChild(item);
              });
            }
            input.addEventListener("change", show);
            ["dragenter", "dragover"].forEach(function (name) {
              form.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
            });
            ["dragleave", "drop"].forEach(function (name) {
              form.addEventListener(name, function () { zone.classList.remove("dragging"); });
            });
            form.addEventListener("drop", function (event) {
              event.preventDefault();
              if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
              var merged = new DataTransfer();
              Array.prototype.forEach.call(input.files, function (file) { merged.items.add(file); });
              Array.prototype.forEach.call(event.dataTransfer.files, function (file) { merged.items.add(file); });
              input.files = merged.files;
              show();
            });
          });
        })();
        (function () {
          "use strict";
          if (!window.EventSource || !document.body.dataset.live) { return; }
          var page = document.body.dataset.page;
          var thread = document.body.dataset.thread;
          var source = new EventSource("/feed");
          var pending = false;
          function typing() {
            var box = document.getElementById("body");
            var files = document.querySelector("form.post input[type=file]");
            return (box && box.value.trim().length > 0) || (files && files.files.length > 0);
          }
          function reload() {
            if (pending) { return; }
            pending = true;
            var tryReload = function () {
              if (typing()) { window.setTimeout(tryReload, 1000); return; }
              window.location.reload();
            };
            window.setTimeout(tryReload, 150);
          }
          source.addEventListener("thread", function (event) {
            var data = {};
            try { data = JSON.parse(event.data); } catch (e) { return; }
            if (page === "inbox" || (page === "thread" && data.thread === thread)) { reload(); }
          });
        })();
        """
}
