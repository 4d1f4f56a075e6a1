import Mustache

/// The pages' Mustache templates. `{{name}}` escapes for HTML; the one triple mustache,
/// `{{{content}}}`, takes a page already rendered from these templates.
enum Templates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [
            ("layout", layout), ("signIn", signIn), ("inbox", inbox), ("thread", thread), ("newThread", newThread),
            ("problem", problem),
        ] + adminTemplates {
            // The templates are constants of this file: a parse error is a defect caught by every test.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let layout = """
        <!DOCTYPE html>
        <html lang="{{lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{pageTitle}} · Threadlog</title>
        <link rel="stylesheet" href="/assets/console.css">
        <script src="/assets/console.js" defer></script>
        </head>
        <body data-page="{{page}}" data-thread="{{threadID}}"{{#live}} data-live="1"{{/live}}>
        <header class="top">
        <a class="brand" href="/">Threadlog</a>
        {{#signedIn}}
        {{#isAdmin}}<nav class="main"><a href="/admin">{{t.administration}}</a> <a href="/operations">{{t.operations}}</a></nav>{{/isAdmin}}
        {{^isAdmin}}<nav class="main"><a href="/inbox">{{t.inbox}}</a> <a href="/threads/new">{{t.new_thread}}</a></nav>{{/isAdmin}}
        <span class="who" title="{{t.signed_in_as}}">{{userName}}</span>
        <form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="link">{{t.sign_out}}</button></form>
        {{/signedIn}}
        <nav class="langs" aria-label="{{t.language}}">{{#languages}}<a href="/language/{{code}}?back={{back}}" lang="{{code}}"{{#current}} aria-current="true"{{/current}}>{{name}}</a> {{/languages}}</nav>
        </header>
        <main>
        {{{content}}}
        </main>
        </body>
        </html>
        """

    static let signIn = """
        <section class="card narrow">
        <h1>{{t.sign_in}}</h1>
        {{#hasError}}<p class="error" role="alert">{{error}}</p>{{/hasError}}
        <form method="post" action="/sign-in">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="next" value="{{next}}">
        <label for="token">{{t.token}}</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required>
        <p class="help">{{t.token_help}}</p>
        <button type="submit">{{t.sign_in}}</button>
        </form>
        {{#linksOffered}}<p class="alt"><a href="/sign-in/link">{{t.link_offer}}</a></p>{{/linksOffered}}
        </section>
        """

    static let inbox = """
        <h1>{{t.inbox}}{{#hasUnread}} <span class="badge" id="total-unread">{{totalUnread}}</span>{{/hasUnread}}</h1>
        <form method="get" action="/inbox" class="filters">
        <label class="search">{{t.search}} <input type="search" name="q" value="{{q}}"></label>
        <label>{{t.status}} <select name="status"><option value="">{{t.any}}</option>{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
        <label>{{t.priority}} <select name="priority"><option value="">{{t.any}}</option>{{#priorities}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/priorities}}</select></label>
        <label>{{t.type}} <select name="type"><option value="">{{t.any}}</option>{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select></label>
        {{#hasHandlers}}<label>{{t.handler}} <select name="handler"><option value="">{{t.any}}</option>{{#handlers}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/handlers}}</select></label>{{/hasHandlers}}
        {{#hasCategories}}<label>{{t.category}} <select name="category"><option value="">{{t.any}}</option>{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select></label>{{/hasCategories}}
        <label>{{t.opened_by}} <select name="party"><option value="">{{t.any}}</option>{{#parties}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/parties}}</select></label>
        <label class="check"><input type="checkbox" name="unread" value="1"{{#unreadOnly}} checked{{/unreadOnly}}> {{t.unread_only}}</label>
        <button type="submit" id="apply-filters">{{t.filter}}</button>
        {{#isFiltered}}<a href="/inbox" class="clear">{{t.clear_filters}}</a>{{/isFiltered}}
        </form>
        {{#hasItems}}
        <table class="inbox">
        <thead><tr><th>{{t.number}}</th><th>{{t.title}}</th><th>{{t.subject}}</th><th>{{t.status}}</th><th>{{t.priority}}</th><th>{{t.type}}</th><th>{{t.handler}}</th><th>{{t.opened_by}}</th><th>{{t.unread}}</th><th>{{t.last_activity}}</th></tr></thead>
        <tbody>
        {{#items}}
        <tr class="thread{{#hasUnread}} has-unread{{/hasUnread}}" data-thread="{{id}}">
        <td data-label="{{t.number}}">{{number}}</td>
        <td data-label="{{t.title}}" class="title"><a href="/threads/{{id}}">{{title}}</a></td>
        <td data-label="{{t.subject}}">{{subjectKind}} {{subjectRef}}</td>
        <td data-label="{{t.status}}"><span class="status status-{{status}}">{{statusLabel}}</span></td>
        <td data-label="{{t.priority}}"><span class="priority priority-{{priority}}">{{priorityLabel}}</span></td>
        <td data-label="{{t.type}}">{{typeLabel}}</td>
        <td data-label="{{t.handler}}">{{handler}}</td>
        <td data-label="{{t.opened_by}}" class="opened-by">{{openedBy}}</td>
        <td data-label="{{t.unread}}">{{#hasUnread}}<span class="badge unread">{{unread}}</span>{{/hasUnread}}</td>
        <td data-label="{{t.last_activity}}"><time datetime="{{lastActivity}}">{{lastActivityText}}</time></td>
        </tr>
        {{/items}}
        </tbody>
        </table>
        {{/hasItems}}
        {{^hasItems}}<p class="empty">{{t.no_threads}}</p>{{/hasItems}}
        <nav class="paging">{{#isLaterPage}}<a href="{{firstPage}}">{{t.first_page}}</a> {{/isLaterPage}}{{#hasNext}}<a href="{{nextPage}}" rel="next">{{t.next_page}}</a>{{/hasNext}}</nav>
        """

    static let thread = """
        <p class="crumbs"><a href="/inbox">← {{t.inbox}}</a></p>
        <h1>{{#hasNumber}}<span class="num">{{number}}</span> {{/hasNumber}}{{title}}</h1>
        <dl class="facts">
        <div><dt>{{t.subject}}</dt><dd>{{subjectKind}} {{subjectRef}}</dd></div>
        <div><dt>{{t.status}}</dt><dd><span class="status status-{{status}}" id="thread-status">{{statusLabel}}</span></dd></div>
        <div><dt>{{t.priority}}</dt><dd><span class="priority priority-{{priority}}">{{priorityLabel}}</span></dd></div>
        <div><dt>{{t.type}}</dt><dd>{{typeLabel}}</dd></div>
        <div><dt>{{t.handler}}</dt><dd id="thread-handler">{{handler}}</dd></div>
        <div><dt>{{t.messages}}</dt><dd id="message-count">{{messageCount}}</dd></div>
        </dl>
        {{#blocked}}<p class="notice">{{t.blocked}}</p>{{/blocked}}
        {{#isHandler}}
        <section class="actions" aria-label="{{t.actions}}">
        {{^isOwner}}<form method="post" action="/threads/{{id}}/take"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.take_ownership}}</button></form>{{/isOwner}}
        <form method="post" action="/threads/{{id}}/assign"><input type="hidden" name="csrf" value="{{csrf}}"><select name="handler" id="assignee" aria-label="{{t.assign_to}}">{{#assignees}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/assignees}}</select> <button type="submit" id="assign">{{t.assign}}</button></form>
        <form method="post" action="/threads/{{id}}/status"><input type="hidden" name="csrf" value="{{csrf}}"><select name="status" aria-label="{{t.status}}">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select> <button type="submit">{{t.change_status}}</button></form>
        {{#blocked}}<form method="post" action="/threads/{{id}}/unblock"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.unblock}}</button></form>{{/blocked}}
        {{^blocked}}<form method="post" action="/threads/{{id}}/block"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.block}}</button></form>{{/blocked}}
        </section>
        {{/isHandler}}
        {{#canResolve}}<form method="post" action="/threads/{{id}}/status" class="actions"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="status" value="resolved"><button type="submit" id="resolve">{{t.resolve_ok}}</button></form>{{/canResolve}}
        <div class="columns">
        <section class="conversation">
        <h2>{{t.messages}}</h2>
        <ol class="messages" id="messages">
        {{#messages}}
        <li id="m{{number}}" class="message{{#mine}} mine{{/mine}}{{#isNew}} new{{/isNew}}">
        <header><span class="num">#{{number}}</span> <strong class="author">{{author}}</strong>{{#isTask}} <span class="kind">{{t.kind_task}}</span>{{/isTask}}{{#isNew}} <span class="badge">{{t.new_badge}}</span>{{/isNew}} <time datetime="{{time}}">{{timeText}}</time></header>
        <div class="body">{{body}}</div>
        {{#hasAttachments}}<ul class="attachments" aria-label="{{t.attachments}}">{{#attachments}}<li><a href="{{href}}" download>{{name}}</a> <small>{{size}}</small></li>{{/attachments}}</ul>{{/hasAttachments}}
        </li>
        {{/messages}}
        </ol>
        {{#canPost}}
        {{#hasTemplates}}<form method="get" action="/threads/{{id}}" class="templates">
        <label for="template">{{t.template}}</label> <select name="template" id="template"><option value="">{{t.choose_template}}</option>{{#templates}}<option value="{{name}}" data-text="{{text}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/templates}}</select>
        <button type="submit" class="secondary">{{t.use_template}}</button>
        </form>{{/hasTemplates}}
        <form method="post" action="/threads/{{id}}/messages" class="post" id="post"{{#canAttach}} enctype="multipart/form-data"{{/canAttach}}>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="body">{{t.your_message}}</label>
        <textarea id="body" name="body" rows="4">{{prefill}}</textarea>
        {{#canAttach}}<div class="drop" data-drop><label>{{t.attach}} <input type="file" name="files" multiple></label> <span class="hint">{{t.drop_hint}}</span><ul class="drop-list"></ul></div>{{/canAttach}}
        <div class="row"><label>{{t.kind}} <select name="kind"><option value="message">{{t.kind_message}}</option><option value="task">{{t.kind_task}}</option></select></label>
        <button type="submit" id="send">{{t.send}}</button></div>
        </form>
        {{/canPost}}
        </section>
        <aside class="contacts">
        <h2>{{t.contacts}}</h2>
        <ul>{{#contacts}}<li>{{name}} <small>{{party}} · {{side}}</small></li>{{/contacts}}</ul>
        {{#isInternal}}
        <section class="notes" id="notes">
        <h2>{{t.notes}}</h2>
        <p class="hint">{{t.notes_hint}}</p>
        <ol>{{#notes}}<li id="n{{number}}"><header><strong>{{author}}</strong> <time datetime="{{time}}">{{timeText}}</time></header><div class="body">{{body}}</div></li>{{/notes}}</ol>
        <form method="post" action="/threads/{{id}}/notes">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="note">{{t.add_note}}</label>
        <textarea id="note" name="body" rows="3" required></textarea>
        <button type="submit" id="add-note">{{t.add_note}}</button>
        </form>
        </section>
        {{/isInternal}}
        </aside>
        </div>
        """

    static let newThread = """
        <section class="card">
        <h1>{{t.new_thread}}</h1>
        {{#hasError}}<p class="error" role="alert">{{error}}</p>{{/hasError}}
        <form method="post" action="/threads" class="stack"{{#canAttach}} enctype="multipart/form-data"{{/canAttach}}>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <div class="row">
        <label>{{t.subject_kind}} <select name="kind">{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select></label>
        <label>{{t.subject_ref}} <input name="ref" value="{{ref}}" maxlength="200"></label>
        </div>
        <p class="help">{{t.subject_ref_help}}</p>
        <label>{{t.title}} <input name="title" value="{{title}}" required maxlength="500"></label>
        <div class="row">
        {{#hasCategories}}<label>{{t.category}} <select name="category"><option value="">{{t.none}}</option>{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select></label>{{/hasCategories}}
        <label>{{t.priority}} <select name="priority">{{#priorities}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/priorities}}</select></label>
        <label>{{t.type}} <select name="type">{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select></label>
        </div>
        <label>{{t.first_message}} <textarea name="body" rows="6">{{body}}</textarea></label>
        {{#canAttach}}<div class="drop" data-drop><label>{{t.attach}} <input type="file" name="files" multiple></label> <span class="hint">{{t.drop_hint}}</span><ul class="drop-list"></ul></div>{{/canAttach}}
        <button type="submit" id="open-thread">{{t.open_thread}}</button>
        </form>
        </section>
        """

    static let problem = """
        <section class="card narrow">
        <h1>{{heading}}</h1>
        <p>{{text}}</p>
        <p><a href="{{backLink}}">{{t.back}}</a></p>
        </section>
        """
}
