/**
 * Text broken into lines of at most `width` characters at word boundaries, as pwsh's console host wraps a prompt's
 * caption and message (ConsoleHostUserInterface.WrapText): a word that does not fit starts the next line; blanks
 * that do not fit fill the line and the rest of them start the next one; a word longer than a line is cut; the
 * text's own line breaks are kept. Characters are counted as one cell each.
 */
export function wrapToWidth(text: string, width: number): string {
  if (width < 1) return text;
  const lines: string[] = [];
  const paragraphs = text.split(/\r?\n/);
  // A final line break ends the last line; it does not open an empty one.
  if (paragraphs.length > 1 && paragraphs[paragraphs.length - 1] === '') paragraphs.pop();
  for (const paragraph of paragraphs) {
    let line = '';
    for (const token of paragraph.match(/\s+|\S+/g) ?? []) {
      let rest = token;
      while (rest !== '') {
        if (line.length + rest.length <= width) {
          line += rest;
          break;
        }
        if (/^\s/.test(rest)) {
          const fit = width - line.length;
          lines.push(line + rest.slice(0, fit));
          line = '';
          rest = rest.slice(fit);
        } else if (line !== '') {
          lines.push(line);
          line = '';
        } else {
          lines.push(rest.slice(0, width));
          rest = rest.slice(width);
        }
      }
    }
    lines.push(line);
  }
  return lines.join('\n');
}
