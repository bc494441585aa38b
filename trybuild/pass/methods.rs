// Inherent methods with every receiver, plus an associated function and a `Self`-returning method.
#[derive(Debug, Default, Clone, PartialEq)]
struct Counter {
    n: u32,
    log: Vec<String>,
}

impl Counter {
    #[telem::span]
    fn new() -> Self {
        Self::default()
    }

    #[telem::span(args, ret)]
    fn get(&self) -> u32 {
        self.n
    }

    #[telem::span(fields(by), ret)]
    fn add(&mut self, by: u32) -> u32 {
        self.n += by;
        self.log.push(format!("add {by}"));
        self.n
    }

    #[telem::span(err)]
    fn checked_sub(&mut self, by: u32) -> Result<u32, String> {
        self.n = self.n.checked_sub(by).ok_or_else(|| format!("{} - {by} underflows", self.n))?;
        Ok(self.n)
    }

    #[telem::span(args)]
    fn into_log(self) -> Vec<String> {
        self.log
    }

    #[telem::span(ret)]
    fn with_n(mut self, n: u32) -> Self {
        self.n = n;
        self
    }

    #[telem::span]
    fn name_ref(&self) -> &str {
        self.log.first().map(String::as_str).unwrap_or("")
    }

    #[telem::span]
    fn n_mut(&mut self) -> &mut u32 {
        &mut self.n
    }
}

fn main() {
    let mut c = Counter::new();
    assert_eq!(c.add(5), 5);
    assert_eq!(c.get(), 5);
    assert_eq!(c.checked_sub(2), Ok(3));
    assert_eq!(c.checked_sub(9), Err("3 - 9 underflows".to_owned()));
    *c.n_mut() += 1;
    assert_eq!(c.get(), 4);
    assert_eq!(c.name_ref(), "add 5");
    let c = c.with_n(7);
    assert_eq!(c.n, 7);
    assert_eq!(c.into_log(), vec!["add 5".to_owned()]);
}
