import { Transform } from 'class-transformer';
import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';
import { Base64Text } from './base64-text';

/**
 * A body field holding Base64: a string, or the Base64Text the body parser cut out of a large
 * body. Fails like `@IsString()` (same message) for anything else. Keeps the parser's value as it
 * is through the validation pipe's transformation (class-transformer would otherwise rebuild it
 * as an empty object).
 */
export function IsBase64Text(options?: ValidationOptions): PropertyDecorator {
  const keep = Transform(({ obj, key }) => (obj as Record<string, unknown>)[key], { toClassOnly: true });
  const validate = ValidateBy(
    {
      name: 'isString',
      validator: {
        validate: (value: unknown) => typeof value === 'string' || value instanceof Base64Text,
        defaultMessage: buildMessage((prefix) => `${prefix}$property must be a string`, options),
      },
    },
    options,
  );
  return (target: object, property: string | symbol) => {
    keep(target, property as string);
    validate(target, property as string);
  };
}
