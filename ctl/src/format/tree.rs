//! One pass over a parsed template's tree, for two things Go's text/template
//! does that gotmpl leaves to us:
//!
//! - an undefined function fails at parse time (`template: :1: function
//!   "nosuch" not defined`), before any object is looked up or printed;
//! - `{{.Label "com.example.key"}}` calls a method with an argument on the
//!   row, which docker's list contexts have. gotmpl has no methods, so the
//!   call becomes `{{label . "com.example.key"}}` (and `$.Label …` becomes
//!   `label $ …`), which is the same call on the same receiver.

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode, SmolStr};

/// text/template's builtins (Go's `builtins()`).
const GO_BUILTINS: &[&str] = &[
    "and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or", "print", "printf",
    "println", "slice", "urlquery",
];

/// The name of the function a `.Label "key"` call becomes.
pub(crate) const LABEL_FUNC: &str = "label";

/// The first function in `tree` that is neither a builtin nor in `defined`,
/// with its line.
pub(crate) fn undefined_function(tree: &ListNode, defined: &[&str]) -> Option<(usize, String)> {
    let mut found = None;
    visit_list(tree, &mut |cmd| {
        for arg in &cmd.args {
            let name = match arg {
                Expr::Identifier(pos, name) => Some((pos.line, name)),
                Expr::Chain(_, inner, _) => match inner.as_ref() {
                    Expr::Identifier(pos, name) => Some((pos.line, name)),
                    _ => None,
                },
                _ => None,
            };
            if let Some((line, name)) = name
                && found.is_none()
                && !GO_BUILTINS.contains(&name.as_str())
                && !defined.contains(&name.as_str())
            {
                found = Some((line, name.to_string()));
            }
        }
    });
    found
}

/// Rewrite every `.Label args…` / `$.Label args…` command into
/// `label . args…` / `label $ args…`. Returns whether anything changed.
pub(crate) fn rewrite_label_calls(tree: &mut ListNode) -> bool {
    let mut changed = false;
    visit_list_mut(tree, &mut |cmd| {
        if cmd.args.len() < 2 {
            return;
        }
        let receiver = match &cmd.args[0] {
            Expr::Field(pos, path) if path.len() == 1 && path[0] == "Label" => Expr::Dot(*pos),
            Expr::Variable(pos, var, path) if path.len() == 1 && path[0] == "Label" => {
                Expr::Variable(*pos, var.clone(), Vec::new())
            }
            _ => return,
        };
        let pos = cmd.args[0].pos();
        cmd.args[0] = receiver;
        cmd.args.insert(0, Expr::Identifier(pos, SmolStr::new(LABEL_FUNC)));
        changed = true;
    });
    changed
}

fn visit_list(list: &ListNode, f: &mut dyn FnMut(&CommandNode)) {
    for node in &list.nodes {
        match node {
            Node::List(l) => visit_list(l, f),
            Node::Action(a) => visit_pipe(&a.pipe, f),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                visit_pipe(&b.pipe, f);
                visit_list(&b.body, f);
                if let Some(e) = &b.else_body {
                    visit_list(e, f);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    visit_pipe(p, f);
                }
            }
            Node::Define(d) => visit_list(&d.body, f),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn visit_pipe(pipe: &PipeNode, f: &mut dyn FnMut(&CommandNode)) {
    for cmd in &pipe.commands {
        f(cmd);
        for arg in &cmd.args {
            if let Expr::Pipe(_, inner) = arg {
                visit_pipe(inner, f);
            }
            if let Expr::Chain(_, inner, _) = arg
                && let Expr::Pipe(_, p) = inner.as_ref()
            {
                visit_pipe(p, f);
            }
        }
    }
}

fn visit_list_mut(list: &mut ListNode, f: &mut dyn FnMut(&mut CommandNode)) {
    for node in &mut list.nodes {
        match node {
            Node::List(l) => visit_list_mut(l, f),
            Node::Action(a) => visit_pipe_mut(&mut a.pipe, f),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                visit_pipe_mut(&mut b.pipe, f);
                visit_list_mut(&mut b.body, f);
                if let Some(e) = &mut b.else_body {
                    visit_list_mut(e, f);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &mut t.pipe {
                    visit_pipe_mut(p, f);
                }
            }
            Node::Define(d) => visit_list_mut(&mut d.body, f),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn visit_pipe_mut(pipe: &mut PipeNode, f: &mut dyn FnMut(&mut CommandNode)) {
    for cmd in &mut pipe.commands {
        f(cmd);
        for arg in &mut cmd.args {
            match arg {
                Expr::Pipe(_, inner) => visit_pipe_mut(inner, f),
                Expr::Chain(_, inner, _) => {
                    if let Expr::Pipe(_, p) = inner.as_mut() {
                        visit_pipe_mut(p, f);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use gotmpl::Template;

    use super::*;

    fn tree(src: &str) -> ListNode {
        Template::new("t").parse(src).unwrap().lookup("t").unwrap().clone()
    }

    #[test]
    fn finds_undefined_functions_anywhere() {
        assert_eq!(undefined_function(&tree("{{.A}}{{printf \"%s\" .B}}"), &[]), None);
        assert_eq!(undefined_function(&tree("{{.A | upper}}"), &["upper"]), None);
        assert_eq!(undefined_function(&tree("x\n{{if .A}}{{nosuch .B}}{{end}}"), &[]), Some((2, "nosuch".into())));
        assert_eq!(undefined_function(&tree("{{range .L}}{{(bad .).X}}{{end}}"), &[]), Some((1, "bad".into())));
    }

    #[test]
    fn label_calls_become_function_calls() {
        let mut t = tree(r#"{{.Label "a.b"}} {{with .X}}{{$.Label "c"}}{{end}} {{.Labels}}"#);
        assert!(rewrite_label_calls(&mut t));
        let out = Template::new("u")
            .func(LABEL_FUNC, |args| Ok(gotmpl::Value::String(format!("L({})", args[1]).into())))
            .add_parse_tree("u", t)
            .execute_template_to_string("u", &gotmpl::tmap! {"X" => 1i64, "Labels" => "k=v"})
            .unwrap();
        assert_eq!(out, "L(a.b) L(c) k=v");
    }
}
