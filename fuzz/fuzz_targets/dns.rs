//! DNS: `Message::parse`, then the question and every answer; names read at every offset with
//! `read_name`; a parsed question re-emitted as a query parses back to the same question.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::dns::{Message, QueryRepr, read_name};

fuzz_target!(|data: &[u8]| {
    for offset in 0..data.len().min(64) {
        let _ = read_name(data, offset);
    }
    let Ok(message) = Message::parse(data) else {
        return;
    };
    for record in message.answers() {
        let _ = record;
    }
    if let Some(question) = message.question() {
        let query = QueryRepr {
            id: message.header().id(),
            recursion_desired: true,
            name: &question.name,
            qtype: question.qtype,
        };
        let mut buf = vec![0u8; query.buffer_len()];
        query.emit(&mut buf);
        let again = Message::parse(&buf).unwrap();
        let q = again.question().unwrap();
        assert_eq!((q.name, q.qtype), (question.name, question.qtype));
        assert_eq!(again.header().id(), query.id);
    }
});
