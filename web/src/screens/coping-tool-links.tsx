/** Coping tools as big links, in the order given (`orderCopingTools`): the tool list and the support sheet. */
import { For } from 'solid-js';
import type { CopingTool } from '../wellbeing/coping-tools.ts';

export function CopingToolLinks(props: { tools: readonly CopingTool[]; label: string }) {
  return (
    <ul class="tool-links" aria-label={props.label}>
      <For each={props.tools}>
        {(tool) => (
          <li>
            <a href={`#/coping/${tool.id}`} data-tool={tool.id}>
              <strong>{tool.name}</strong>
              <span>{tool.summary}</span>
            </a>
          </li>
        )}
      </For>
    </ul>
  );
}
