// The administration, operations and sign-in link pages. Every value is escaped (`{{name}}`).
extension Templates {
    static let adminTemplates: [(String, String)] = [
        ("adminParties", adminNav + adminParties), ("adminUsers", adminNav + adminUsers),
        ("adminToken", adminNav + adminToken), ("adminStructures", adminNav + adminStructures),
        ("adminCategories", adminNav + adminCategories), ("adminSettings", adminNav + adminSettings),
        ("operations", operations), ("linkRequest", linkRequest), ("linkSent", linkSent),
        ("linkConfirm", linkConfirm),
    ]

    static let adminNav = """
        <nav class="admin" aria-label="{{t.administration}}">
        <a href="/admin/users"{{#section_users}} aria-current="page"{{/section_users}}>{{t.admin_users}}</a>
        <a href="/admin/parties"{{#section_parties}} aria-current="page"{{/section_parties}}>{{t.admin_parties}}</a>
        <a href="/admin/structures"{{#section_structures}} aria-current="page"{{/section_structures}}>{{t.admin_structures}}</a>
        <a href="/admin/categories"{{#section_categories}} aria-current="page"{{/section_categories}}>{{t.admin_categories}}</a>
        <a href="/admin/settings"{{#section_settings}} aria-current="page"{{/section_settings}}>{{t.admin_settings}}</a>
        <a href="/operations">{{t.operations}}</a>
        </nav>
        {{#hasError}}<p class="error" role="alert" id="admin-error">{{error}}</p>{{/hasError}}
        {{#hasNotice}}<p class="saved" role="status">{{notice}}</p>{{/hasNotice}}

        """

    static let adminParties = """
        <h1>{{t.admin_parties}}</h1>
        <div class="table-scroll">
        <table class="admin-list" id="parties">
        <thead><tr><th>{{t.admin_id}}</th><th>{{t.admin_name}}</th><th>{{t.admin_kind}}</th><th>{{t.admin_users}}</th></tr></thead>
        <tbody>{{#parties}}<tr data-id="{{id}}"><td>{{id}}</td><td>{{name}}</td><td>{{kindLabel}}</td><td>{{users}}</td></tr>{{/parties}}</tbody>
        </table>
        </div>
        <section class="card">
        <h2>{{t.admin_new_party}}</h2>
        <form method="post" action="/admin/parties" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_id}} <input name="id" value="{{f.id}}" required maxlength="100"></label>
        <label>{{t.admin_name}} <input name="name" value="{{f.name}}" required maxlength="200"></label>
        <label>{{t.admin_kind}} <select name="kind">{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select></label>
        <button type="submit">{{t.admin_create}}</button>
        </form>
        </section>
        """

    static let adminUsers = """
        <h1>{{t.admin_users}}</h1>
        <div class="table-scroll">
        <table class="admin-list" id="users">
        <thead><tr><th>{{t.admin_id}}</th><th>{{t.admin_name}}</th><th>{{t.admin_email}}</th><th>{{t.admin_party}}</th><th>{{t.admin_roles}}</th><th>{{t.actions}}</th></tr></thead>
        <tbody>
        {{#users}}
        <tr data-id="{{id}}"><td>{{id}}</td><td>{{name}}</td><td>{{email}}</td><td>{{party}}</td><td>{{roles}}</td>
        <td>{{#active}}<form method="post" action="/admin/users/{{id}}/token" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.admin_replace_token}}</button></form>{{/active}}{{^active}}{{t.admin_inactive}}{{/active}}</td></tr>
        {{/users}}
        </tbody>
        </table>
        </div>
        <section class="card">
        <h2>{{t.admin_new_user}}</h2>
        <form method="post" action="/admin/users" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_id}} <input name="id" value="{{f.id}}" required maxlength="100"></label>
        <label>{{t.admin_name}} <input name="name" value="{{f.name}}" required maxlength="200"></label>
        <label>{{t.admin_email}} <input name="email" type="email" value="{{f.email}}" required maxlength="320"></label>
        <label>{{t.admin_party}} <select name="party">{{#partyOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/partyOptions}}</select></label>
        <label>{{t.admin_roles}} <input name="roles" value="{{f.roles}}" maxlength="500"></label>
        <p class="help">{{t.admin_list_help}}</p>
        <button type="submit">{{t.admin_create}}</button>
        </form>
        </section>
        """

    static let adminToken = """
        <section class="card narrow">
        <h1>{{#created}}{{t.admin_user_created}}{{/created}}{{^created}}{{t.admin_token_replaced}}{{/created}}</h1>
        <p>{{t.admin_token_for}} <strong>{{user}}</strong></p>
        <p><code id="new-token">{{token}}</code></p>
        <p class="notice" role="alert">{{t.admin_token_once}}</p>
        <p><a href="/admin/users">{{t.back}}</a></p>
        </section>
        """

    static let adminStructures = """
        <h1>{{t.admin_structures}}</h1>
        {{#structures}}
        <section class="card" data-id="{{sid}}">
        <h2>{{name}} <small>{{sid}} · {{party}}{{#shareHistory}} · {{t.admin_share_history}}{{/shareHistory}}</small></h2>
        <ul class="members">{{#members}}<li>{{name}} <small>{{id}}</small> <form method="post" action="/admin/structures/{{sid}}/members/remove" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="user" value="{{id}}"><button type="submit" class="link">{{t.admin_remove}}</button></form></li>{{/members}}</ul>
        {{^hasMembers}}<p class="empty">{{t.admin_no_members}}</p>{{/hasMembers}}
        <form method="post" action="/admin/structures/{{sid}}/members" class="row">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_member}} <select name="user">{{#userOptions}}<option value="{{value}}">{{label}}</option>{{/userOptions}}</select></label>
        <button type="submit">{{t.admin_add_member}}</button>
        </form>
        </section>
        {{/structures}}
        <section class="card">
        <h2>{{t.admin_new_structure}}</h2>
        <form method="post" action="/admin/structures" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_id}} <input name="id" value="{{f.id}}" required maxlength="100"></label>
        <label>{{t.admin_name}} <input name="name" value="{{f.name}}" required maxlength="200"></label>
        <label>{{t.admin_party}} <select name="party">{{#partyOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/partyOptions}}</select></label>
        <label><input type="checkbox" name="shareHistory"> {{t.admin_share_history}}</label>
        <button type="submit">{{t.admin_create}}</button>
        </form>
        </section>
        """

    static let adminCategories = """
        <h1>{{t.admin_categories}}</h1>
        <div class="table-scroll">
        <table class="admin-list" id="categories">
        <thead><tr><th>{{t.admin_id}}</th><th>{{t.admin_name}}</th><th>{{t.admin_handler_roles}}</th><th>{{t.admin_structures}}</th><th>{{t.admin_default_recipients}}</th><th>{{t.admin_retention_days}}</th></tr></thead>
        <tbody>{{#categories}}<tr data-id="{{id}}"><td>{{id}}</td><td>{{name}}</td><td>{{handlerRoles}}</td><td>{{structures}}</td><td>{{defaultRecipients}}</td><td>{{retention}}</td></tr>{{/categories}}</tbody>
        </table>
        </div>
        <section class="card">
        <h2>{{t.admin_new_category}}</h2>
        <form method="post" action="/admin/categories" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_id}} <input name="id" value="{{f.id}}" required maxlength="100"></label>
        <label>{{t.admin_name}} <input name="name" value="{{f.name}}" required maxlength="200"></label>
        <label>{{t.admin_handler_roles}} <input name="handlerRoles" value="{{f.handlerRoles}}" maxlength="500"></label>
        <label>{{t.admin_structures}} <input name="structures" value="{{f.structures}}" maxlength="500"></label>
        <label>{{t.admin_default_recipients}} <input name="defaultRecipients" value="{{f.defaultRecipients}}" maxlength="500"></label>
        <p class="help">{{t.admin_list_help}}</p>
        <button type="submit">{{t.admin_create}}</button>
        </form>
        </section>
        """

    static let adminSettings = """
        <h1>{{t.admin_settings}}</h1>
        <section class="card">
        <h2>{{t.admin_display_policy}}</h2>
        <form method="post" action="/admin/settings/display" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_mode}} <select name="mode">{{#modes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/modes}}</select></label>
        <label>{{t.admin_custom_text}} <input name="text" value="{{customText}}" maxlength="200"></label>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.admin_party_policies}}</h2>
        <form method="post" action="/admin/settings/partyPolicies" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <textarea name="partyPolicies" rows="4" aria-label="{{t.admin_party_policies}}">{{partyPoliciesJSON}}</textarea>
        <p class="help">{{t.admin_party_policies_help}}</p>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.admin_digest}}</h2>
        <form method="post" action="/admin/settings/digest" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_digest_time}} <input name="time" value="{{digestTime}}" maxlength="5"></label>
        <label><input type="checkbox" name="enabled"{{#digestEnabled}} checked{{/digestEnabled}}> {{t.admin_digest_enabled}}</label>
        <label>{{t.admin_digest_subject}} <input name="subjectTemplate" value="{{digestSubject}}" maxlength="500"></label>
        <label>{{t.admin_digest_body}} <textarea name="bodyTemplate" rows="8">{{digestBody}}</textarea></label>
        <fieldset><legend>{{t.admin_digest_audience}}</legend>
        <label><input type="checkbox" name="audienceInternal"{{#digestInternal}} checked{{/digestInternal}}> {{t.admin_audience_internal}}</label>
        <label><input type="checkbox" name="audienceOutside"{{#digestOutside}} checked{{/digestOutside}}> {{t.admin_audience_outside}}</label>
        </fieldset>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.admin_retention}}</h2>
        <form method="post" action="/admin/settings/retention" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.admin_retention_days}} <input name="days" value="{{retentionDays}}" inputmode="numeric" maxlength="6"></label>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.admin_messages}}</h2>
        <form method="post" action="/admin/settings/messages" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label><input type="checkbox" name="allowReopen"{{#allowReopen}} checked{{/allowReopen}}> {{t.admin_allow_reopen}}</label>
        <label><input type="checkbox" name="attachmentsAllowed"{{#attachmentsAllowed}} checked{{/attachmentsAllowed}}> {{t.admin_attachments_allowed}}</label>
        <label>{{t.admin_message_size_limit}} <input name="messageSizeLimit" value="{{messageSizeLimit}}" inputmode="numeric" maxlength="10"></label>
        <label>{{t.admin_default_handler_roles}} <input name="defaultHandlerRoles" value="{{defaultHandlerRoles}}" maxlength="500"></label>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.admin_templates}}</h2>
        <form method="post" action="/admin/settings/templates" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <textarea name="templates" rows="6" aria-label="{{t.admin_templates}}">{{templatesJSON}}</textarea>
        <p class="help">{{t.admin_templates_help}}</p>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.admin_notifications}}</h2>
        <form method="post" action="/admin/settings/notifications" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label><input type="checkbox" name="notificationsEnabled"{{#notificationsEnabled}} checked{{/notificationsEnabled}}> {{t.admin_notifications_enabled}}</label>
        <textarea name="notifications" rows="12" aria-label="{{t.admin_notifications}}">{{notificationsJSON}}</textarea>
        <p class="help">{{t.admin_notifications_help}} on: {{triggers}}; to/cc: {{recipients}}.</p>
        <button type="submit">{{t.admin_save}}</button>
        </form>
        </section>
        """

    static let operations = """
        <h1>{{t.operations}}</h1>
        {{#hasError}}<p class="error" role="alert" id="ops-error">{{error}}</p>{{/hasError}}
        {{#hasNotice}}<p class="saved" role="status" id="ops-notice">{{notice}}</p>{{/hasNotice}}
        <dl class="facts"><div><dt>{{t.ops_log_position}}</dt><dd id="log-position">{{head}}</dd></div></dl>
        <h2>{{t.ops_views}}</h2>
        {{#hasViews}}
        <div class="table-scroll">
        <table class="admin-list" id="views">
        <thead><tr><th>{{t.ops_view}}</th><th>{{t.ops_checkpoint}}</th><th>{{t.ops_lag}}</th></tr></thead>
        <tbody>{{#views}}<tr data-view="{{name}}"{{#behind}} class="behind"{{/behind}}><td>{{name}}</td><td>{{checkpoint}}</td><td>{{lag}}</td></tr>{{/views}}</tbody>
        </table>
        </div>
        {{/hasViews}}
        {{^hasViews}}<p class="empty">{{t.ops_no_views}}</p>{{/hasViews}}
        <h2>{{t.ops_outbox}}</h2>
        {{#outbox}}
        <dl class="facts">
        <div><dt>{{t.ops_pending}}</dt><dd id="outbox-pending">{{pendingCount}}</dd></div>
        <div><dt>{{t.ops_failed}}</dt><dd id="outbox-failed">{{failedCount}}</dd></div>
        <div><dt>{{t.ops_delivered}}</dt><dd id="outbox-delivered">{{deliveredCount}}</dd></div>
        </dl>
        <h3>{{t.ops_failed}}</h3>
        {{#hasFailed}}
        <div class="table-scroll">
        <table class="admin-list" id="failed-mails">
        <thead><tr><th>{{t.ops_recipient}}</th><th>{{t.subject}}</th><th>{{t.ops_attempts}}</th><th>{{t.ops_last_error}}</th><th>{{t.actions}}</th></tr></thead>
        <tbody>{{#failed}}<tr data-id="{{id}}"><td>{{to}}</td><td>{{subject}}</td><td>{{attempts}}</td><td>{{lastError}}</td>
        <td>{{#resendable}}<form method="post" action="/operations/outbox/{{id}}/resend" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.ops_resend}}</button></form>{{/resendable}}</td></tr>{{/failed}}</tbody>
        </table>
        </div>
        {{/hasFailed}}
        {{^hasFailed}}<p class="empty">{{t.ops_none}}</p>{{/hasFailed}}
        <h3>{{t.ops_pending}}</h3>
        {{#hasPending}}
        <div class="table-scroll">
        <table class="admin-list" id="pending-mails">
        <thead><tr><th>{{t.ops_recipient}}</th><th>{{t.subject}}</th><th>{{t.ops_attempts}}</th><th>{{t.ops_last_error}}</th></tr></thead>
        <tbody>{{#pending}}<tr data-id="{{id}}"><td>{{to}}</td><td>{{subject}}</td><td>{{attempts}}</td><td>{{lastError}}</td></tr>{{/pending}}</tbody>
        </table>
        </div>
        {{/hasPending}}
        {{^hasPending}}<p class="empty">{{t.ops_none}}</p>{{/hasPending}}
        {{/outbox}}
        {{^outbox}}<p class="empty">{{t.ops_no_outbox}}</p>{{/outbox}}
        """

    static let linkRequest = """
        <section class="card narrow">
        <h1>{{t.link_offer}}</h1>
        {{#hasError}}<p class="error" role="alert">{{error}}</p>{{/hasError}}
        <form method="post" action="/sign-in/link">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="email">{{t.admin_email}}</label>
        <input id="email" name="email" type="email" autocomplete="email" required maxlength="320">
        <p class="help">{{t.link_help}}</p>
        <button type="submit">{{t.link_send}}</button>
        </form>
        <p class="alt"><a href="/sign-in">{{t.sign_in}}</a></p>
        </section>
        """

    static let linkSent = """
        <section class="card narrow">
        <h1>{{t.link_offer}}</h1>
        <p id="link-sent">{{t.link_sent}}</p>
        <p><a href="/sign-in">{{t.sign_in}}</a></p>
        </section>
        """

    static let linkConfirm = """
        <section class="card narrow">
        <h1>{{t.sign_in}}</h1>
        <p>{{t.link_confirm_text}}</p>
        <form method="post" action="/sign-in/link/use">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="token" value="{{token}}">
        <button type="submit" id="use-link">{{t.link_confirm}}</button>
        </form>
        </section>
        """
}
