//! Attribute values.

use std::borrow::Cow;
use std::fmt;

/// The value of a span attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// A string: borrowed when it is `'static`, so literal values cost no allocation.
    Str(Cow<'static, str>),
}

impl Value {
    /// A string value borrowed for the life of the program, usable in `const` and `static` items.
    pub const fn from_static(s: &'static str) -> Value {
        Value::Str(Cow::Borrowed(s))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(v) => v.fmt(f),
            Value::I64(v) => v.fmt(f),
            Value::U64(v) => v.fmt(f),
            Value::F64(v) => v.fmt(f),
            Value::Str(v) => v.fmt(f),
        }
    }
}

macro_rules! from_int {
    ($variant:ident as $wide:ty: $($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v as $wide)
            }
        }
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::$variant(*self as $wide)
            }
        }
    )*};
}
from_int!(I64 as i64: i8, i16, i32, i64, isize);
from_int!(U64 as u64: u8, u16, u32, u64, usize);
from_int!(F64 as f64: f32, f64);

/// 128-bit integers: a number when the value fits in 64 bits (signed for `i128`, unsigned for
/// `u128`), else its decimal digits as a string, so that no exporter has to round it.
impl From<u128> for Value {
    fn from(v: u128) -> Value {
        u64::try_from(v).map(Value::U64).unwrap_or_else(|_| Value::Str(Cow::Owned(v.to_string())))
    }
}

impl From<i128> for Value {
    fn from(v: i128) -> Value {
        i64::try_from(v).map(Value::I64).unwrap_or_else(|_| Value::Str(Cow::Owned(v.to_string())))
    }
}

impl ToValue for u128 {
    fn to_value(&self) -> Value {
        Value::from(*self)
    }
}

impl ToValue for i128 {
    fn to_value(&self) -> Value {
        Value::from(*self)
    }
}

impl From<char> for Value {
    fn from(v: char) -> Value {
        Value::Str(Cow::Owned(v.to_string()))
    }
}

impl ToValue for char {
    fn to_value(&self) -> Value {
        Value::from(*self)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(Cow::Borrowed(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(Cow::Owned(v))
    }
}

impl From<Cow<'static, str>> for Value {
    fn from(v: Cow<'static, str>) -> Value {
        Value::Str(v)
    }
}

/// Types that become an attribute [`Value`] without going through `Debug`. `fields(k = expr)` uses this
/// when the expression's type implements it and falls back to `Debug` otherwise.
pub trait ToValue {
    /// The value to record.
    fn to_value(&self) -> Value;
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Str(Cow::Owned(self.to_owned()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Str(Cow::Owned(self.clone()))
    }
}

impl From<Box<str>> for Value {
    fn from(v: Box<str>) -> Value {
        Value::Str(Cow::Owned(v.into()))
    }
}

impl From<std::sync::Arc<str>> for Value {
    fn from(v: std::sync::Arc<str>) -> Value {
        Value::Str(Cow::Owned(v.as_ref().to_owned()))
    }
}

/// Owned and shared strings are recorded as strings, not as their `Debug` text.
impl ToValue for Cow<'_, str> {
    fn to_value(&self) -> Value {
        self.as_ref().to_value()
    }
}

impl ToValue for Box<str> {
    fn to_value(&self) -> Value {
        self.as_ref().to_value()
    }
}

impl ToValue for std::sync::Arc<str> {
    fn to_value(&self) -> Value {
        self.as_ref().to_value()
    }
}

impl ToValue for std::rc::Rc<str> {
    fn to_value(&self) -> Value {
        self.as_ref().to_value()
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// Autoref specialisation for `fields(k = expr)`: `(&Wrap(&expr)).__telem_value()` resolves to
/// [`ViaToValue`] when the type implements [`ToValue`], and to [`ViaDebug`] otherwise.
#[doc(hidden)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ViaToValue {
    fn __telem_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ViaToValue for Wrap<'_, T> {
    fn __telem_value(&self) -> Value {
        self.0.to_value()
    }
}

#[doc(hidden)]
pub trait ViaDebug {
    fn __telem_value(&self) -> Value;
}

impl<T: fmt::Debug + ?Sized> ViaDebug for &Wrap<'_, T> {
    fn __telem_value(&self) -> Value {
        debug_value(self.0)
    }
}

/// The `Debug` rendering of a value, as `args` and `ret` record it.
#[doc(hidden)]
pub fn debug_value<T: fmt::Debug + ?Sized>(v: &T) -> Value {
    Value::Str(Cow::Owned(format!("{v:?}")))
}

/// The `Display` rendering of a value, as `%x` in `event!` records it.
#[doc(hidden)]
pub fn display_value<T: fmt::Display + ?Sized>(v: &T) -> Value {
    Value::Str(Cow::Owned(v.to_string()))
}
