// String.prototype.isWellFormed (ES2024) ships with Node 20; the compiler's lib is ES2023.
interface String {
  /** False when the string holds a lone surrogate (a UTF-16 code unit with no pair). */
  isWellFormed(): boolean;
}
